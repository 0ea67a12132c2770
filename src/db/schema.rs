//! The diesel table definitions shared by both backends (see migrations/sqlite and migrations/postgres).

diesel::table! {
    organisations (id) {
        id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        role -> Text,
        organisation_id -> Nullable<BigInt>,
        password_hash -> Nullable<Text>,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_signed_in_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        label -> Text,
        token_hash -> Text,
        prefix -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sign_in_throttle (key) {
        key -> Text,
        failures -> Integer,
        window_started_at -> Timestamp,
        blocked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    election_periods (id) {
        id -> BigInt,
        name -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    consultations (id) {
        id -> BigInt,
        organisation_id -> BigInt,
        slug -> Text,
        opens_at -> Nullable<Timestamp>,
        closes_at -> Nullable<Timestamp>,
        results_visibility -> Text,
        live_version_id -> Nullable<BigInt>,
        outcome -> Nullable<Text>,
        results_published_at -> Nullable<Timestamp>,
        archived_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        headline_questions -> Nullable<Text>,
        one_response_per_person -> Bool,
        retention_days -> Integer,
    }
}

diesel::table! {
    questionnaire_versions (id) {
        id -> BigInt,
        consultation_id -> BigInt,
        number -> Integer,
        title -> Text,
        summary -> Text,
        content -> Text,
        revision -> Integer,
        published_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    responses (id) {
        id -> BigInt,
        consultation_id -> BigInt,
        version_id -> BigInt,
        reference -> Text,
        channel -> Text,
        entered_by -> Nullable<BigInt>,
        idempotency_key -> Text,
        fingerprint -> Text,
        submitted_at -> Timestamp,
        respondent -> Nullable<Text>,
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
    response_totals (consultation_id, version_id, stripe) {
        consultation_id -> BigInt,
        version_id -> BigInt,
        stripe -> Integer,
        responses -> BigInt,
    }
}

diesel::table! {
    question_totals (consultation_id, version_id, question_key, row_key, stripe) {
        consultation_id -> BigInt,
        version_id -> BigInt,
        question_key -> Text,
        row_key -> Text,
        stripe -> Integer,
        answered -> BigInt,
        not_shown -> BigInt,
        skipped -> BigInt,
    }
}

diesel::table! {
    option_totals (consultation_id, version_id, question_key, row_key, option_key, stripe) {
        consultation_id -> BigInt,
        version_id -> BigInt,
        question_key -> Text,
        row_key -> Text,
        option_key -> Text,
        stripe -> Integer,
        count -> BigInt,
        rank_sum -> BigInt,
    }
}

diesel::table! {
    journeys (consultation_id, token) {
        consultation_id -> BigInt,
        token -> Text,
        version_id -> BigInt,
        answers -> Text,
        reference -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        expires_at -> Timestamp,
        respondent -> Nullable<Text>,
    }
}

diesel::table! {
    audit_log (id) {
        organisation_id -> BigInt,
        id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<BigInt>,
        actor -> Text,
        action -> Text,
        object_type -> Text,
        object_id -> Text,
        consultation_id -> Nullable<BigInt>,
        detail -> Text,
        address -> Nullable<Text>,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        consultation_id -> Nullable<BigInt>,
        kind -> Text,
        dedup_key -> Text,
        recipient -> Nullable<Text>,
        payload -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        leased_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        failed_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    return_links (token_hash) {
        token_hash -> Text,
        consultation_id -> BigInt,
        journey_token -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    respondents (token_hash) {
        token_hash -> Text,
        consultation_id -> BigInt,
        email_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    subscriptions (token_hash) {
        token_hash -> Text,
        consultation_id -> BigInt,
        email -> Nullable<Text>,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        notified_at -> Nullable<Timestamp>,
        unsubscribed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    account_links (token_hash) {
        token_hash -> Text,
        user_id -> BigInt,
        purpose -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(consultations -> organisations (organisation_id));
diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(questionnaire_versions -> consultations (consultation_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    users,
    sessions,
    api_tokens,
    consultations,
    questionnaire_versions,
    responses,
    answers,
    response_totals,
    question_totals,
    option_totals,
    journeys,
    audit_log,
);

diesel::table! {
    daily_totals (consultation_id, day, channel, stripe) {
        consultation_id -> BigInt,
        day -> Text,
        channel -> Text,
        stripe -> Integer,
        responses -> BigInt,
    }
}

diesel::table! {
    value_totals (consultation_id, version_id, question_key, value, stripe) {
        consultation_id -> BigInt,
        version_id -> BigInt,
        question_key -> Text,
        value -> Text,
        stripe -> Integer,
        count -> BigInt,
    }
}

diesel::table! {
    cross_totals (consultation_id, version_id, by_key, by_option, question_key, row_key, option_key, stripe) {
        consultation_id -> BigInt,
        version_id -> BigInt,
        by_key -> Text,
        by_option -> Text,
        question_key -> Text,
        row_key -> Text,
        option_key -> Text,
        stripe -> Integer,
        count -> BigInt,
    }
}

diesel::table! {
    results_snapshots (consultation_id, number) {
        consultation_id -> BigInt,
        number -> Integer,
        published_at -> Timestamp,
        published_by -> Nullable<BigInt>,
        publisher -> Text,
        outcome -> Text,
        responses -> BigInt,
        figures -> Text,
    }
}
