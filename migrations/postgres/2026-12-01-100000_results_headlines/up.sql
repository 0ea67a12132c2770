-- The questions a consultation's results dashboard leads with as headline cards, chosen by its officers: a
-- JSON array of question keys; null until they choose, when every agree/disagree scale question is a headline.
ALTER TABLE consultations ADD COLUMN headline_questions TEXT;
