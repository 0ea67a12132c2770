//! The diesel table definitions shared by both backends (see migrations/sqlite and migrations/postgres).

diesel::table! {
    consultations (id) {
        id -> BigInt,
        slug -> Text,
        title -> Text,
        summary -> Text,
        body -> Text,
        status -> Text,
        opens_at -> Nullable<Timestamp>,
        closes_at -> Nullable<Timestamp>,
        results_visibility -> Text,
        current_version_id -> Nullable<BigInt>,
        outcome -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    questionnaire_versions (id) {
        id -> BigInt,
        consultation_id -> BigInt,
        number -> Integer,
        published_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sections (id) {
        id -> BigInt,
        consultation_id -> BigInt,
        version_id -> BigInt,
        position -> Integer,
        key -> Text,
        title -> Text,
        description -> Nullable<Text>,
    }
}

diesel::table! {
    questions (id) {
        id -> BigInt,
        consultation_id -> BigInt,
        version_id -> BigInt,
        section_id -> BigInt,
        position -> Integer,
        key -> Text,
        kind -> Text,
        prompt -> Text,
        hint -> Nullable<Text>,
        required -> Bool,
        min_selections -> Nullable<Integer>,
        max_selections -> Nullable<Integer>,
        max_length -> Nullable<Integer>,
        min_value -> Nullable<BigInt>,
        max_value -> Nullable<BigInt>,
    }
}

diesel::table! {
    options (id) {
        id -> BigInt,
        consultation_id -> BigInt,
        question_id -> BigInt,
        position -> Integer,
        key -> Text,
        label -> Text,
        is_other -> Bool,
        is_exclusive -> Bool,
    }
}

diesel::table! {
    routing_rules (id) {
        id -> BigInt,
        consultation_id -> BigInt,
        version_id -> BigInt,
        position -> Integer,
        target_kind -> Text,
        target_key -> Text,
        action -> Text,
        when_question -> Text,
        when_any_of -> Text,
    }
}

diesel::table! {
    responses (id) {
        id -> BigInt,
        consultation_id -> BigInt,
        version_id -> BigInt,
        reference -> Text,
        channel -> Text,
        idempotency_key -> Text,
        fingerprint -> Text,
        submitted_at -> Timestamp,
    }
}

diesel::table! {
    answers (id) {
        id -> BigInt,
        consultation_id -> BigInt,
        response_id -> BigInt,
        question_key -> Text,
        value -> Text,
        other_text -> Nullable<Text>,
    }
}

diesel::table! {
    response_totals (consultation_id, stripe) {
        consultation_id -> BigInt,
        stripe -> Integer,
        responses -> BigInt,
    }
}

diesel::table! {
    question_totals (consultation_id, question_key, stripe) {
        consultation_id -> BigInt,
        question_key -> Text,
        stripe -> Integer,
        answered -> BigInt,
        not_shown -> BigInt,
        skipped -> BigInt,
    }
}

diesel::table! {
    option_totals (consultation_id, question_key, option_key, stripe) {
        consultation_id -> BigInt,
        question_key -> Text,
        option_key -> Text,
        stripe -> Integer,
        count -> BigInt,
        rank_sum -> BigInt,
    }
}

diesel::table! {
    journeys (token) {
        token -> Text,
        consultation_id -> BigInt,
        version_id -> BigInt,
        answers -> Text,
        csrf_token -> Text,
        reference -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        kind -> Text,
        recipient -> Text,
        payload -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(options -> questions (question_id));

diesel::allow_tables_to_appear_in_same_query!(
    consultations,
    questionnaire_versions,
    sections,
    questions,
    options,
    routing_rules,
    responses,
    answers,
    response_totals,
    question_totals,
    option_totals,
    journeys,
);
