//! The one diesel schema shared by every backend. The migrations in
//! `migrations/sqlite` and `migrations/postgresql` create exactly these tables.

diesel::table! {
    organisations (id) {
        id -> BigInt,
        name -> Text,
        kind -> Text,
        region -> Text,
        contact -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        organisation_id -> Nullable<BigInt>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        token_epoch -> BigInt,
    }
}

diesel::table! {
    user_regions (user_id, region) {
        user_id -> BigInt,
        region -> Text,
    }
}

diesel::table! {
    resources (id) {
        id -> BigInt,
        ref_code -> Text,
        kind -> Text,
        title -> Text,
        summary -> Text,
        body -> Text,
        provider -> Text,
        organisation_id -> Nullable<BigInt>,
        region -> Text,
        dimensions -> Text,
        target_groups -> Text,
        eligibility -> Nullable<Text>,
        benefit -> Text,
        capacity_total -> Nullable<BigInt>,
        capacity_remaining -> Nullable<BigInt>,
        capacity_unit -> Nullable<Text>,
        valid_from -> Nullable<Date>,
        valid_until -> Nullable<Date>,
        apply -> Text,
        status -> Text,
        version -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_by -> Text,
        updated_at -> Timestamp,
        published_by -> Nullable<Text>,
        published_at -> Nullable<Timestamp>,
        withdrawn_by -> Nullable<Text>,
        withdrawn_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    resource_history (id) {
        id -> BigInt,
        resource_id -> BigInt,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        actor -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    change_log (seq) {
        seq -> BigInt,
        entity -> Text,
        entity_ref -> Text,
        op -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    regions (code) {
        code -> Text,
        name -> Text,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(user_regions -> users (user_id));
diesel::joinable!(resources -> organisations (organisation_id));
diesel::joinable!(resource_history -> resources (resource_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    users,
    user_regions,
    resources,
    resource_history,
    change_log,
    regions,
);
