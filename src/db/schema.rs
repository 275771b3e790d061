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
        email -> Text,
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
        email -> Text,
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

diesel::table! {
    app_settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    households (id) {
        id -> BigInt,
        ref_code -> Text,
        region -> Text,
        adviser -> Nullable<Text>,
        head_name -> Text,
        consent -> Bool,
        consent_by -> Nullable<Text>,
        consent_at -> Nullable<Timestamp>,
        address_enc -> Nullable<Text>,
        contact_phone_enc -> Nullable<Text>,
        contact_phone_hash -> Nullable<Text>,
        profile -> Text,
        identified_on -> Date,
        status -> Text,
        version -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    members (id) {
        id -> BigInt,
        household_id -> BigInt,
        position -> BigInt,
        name -> Text,
        id_number_enc -> Nullable<Text>,
        id_number_hash -> Nullable<Text>,
        phone_enc -> Nullable<Text>,
        phone_hash -> Nullable<Text>,
        relation -> Text,
        sex -> Nullable<Text>,
        birth_date -> Nullable<Date>,
        disability_grade -> BigInt,
        disability_type -> Nullable<Text>,
        health -> Text,
        employment -> Nullable<Text>,
        student_stage -> Nullable<Text>,
        income_monthly -> Nullable<Double>,
    }
}

diesel::table! {
    assessments (id) {
        id -> BigInt,
        household_id -> BigInt,
        assessed_on -> Date,
        scores -> Text,
        total -> BigInt,
        priority -> Bool,
        risk -> Text,
        suggested_type -> Text,
        service_type -> Text,
        note -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    needs (id) {
        id -> BigInt,
        ref_code -> Text,
        household_id -> BigInt,
        dimension -> Text,
        title -> Text,
        detail -> Text,
        urgency -> Text,
        quantity -> BigInt,
        status -> Text,
        assessment_id -> Nullable<BigInt>,
        version -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    need_events (id) {
        id -> BigInt,
        need_id -> BigInt,
        status -> Text,
        note -> Text,
        actor -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    case_notes (id) {
        id -> BigInt,
        household_id -> BigInt,
        noted_on -> Date,
        kind -> Text,
        body -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        subject -> Text,
        field -> Text,
        detail -> Text,
    }
}

diesel::table! {
    alerts (id) {
        id -> BigInt,
        household_id -> BigInt,
        resource_ref -> Text,
        resource_title -> Text,
        status -> Text,
        reasons -> Text,
        raised_at -> Timestamp,
        changed_at -> Timestamp,
        changed_by -> Nullable<Text>,
    }
}

diesel::table! {
    bundles (id) {
        id -> BigInt,
        number -> Text,
        household_id -> BigInt,
        as_of -> Date,
        content -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    referrals (id) {
        id -> BigInt,
        number -> Text,
        need_id -> BigInt,
        resource_id -> BigInt,
        status -> Text,
        note -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    referral_events (id) {
        id -> BigInt,
        referral_id -> BigInt,
        status -> Text,
        note -> Text,
        actor -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        ref_code -> Text,
        region -> Text,
        quarter -> Text,
        title -> Text,
        held_on -> Date,
        starts_at -> Time,
        ends_at -> Time,
        venue -> Text,
        description -> Text,
        status -> Text,
        version -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        published_at -> Nullable<Timestamp>,
        held_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    event_items (id) {
        id -> BigInt,
        event_id -> BigInt,
        position -> BigInt,
        dimension -> Text,
        target_group -> Text,
        title -> Text,
        people -> BigInt,
        households -> BigInt,
        urgency -> Text,
        note -> Text,
        hidden -> Bool,
    }
}

diesel::table! {
    event_item_needs (item_id, need_id) {
        item_id -> BigInt,
        need_id -> BigInt,
    }
}

diesel::table! {
    pledges (id) {
        id -> BigInt,
        number -> Text,
        event_id -> BigInt,
        item_id -> BigInt,
        organisation_id -> BigInt,
        resource_id -> BigInt,
        quantity -> BigInt,
        conditions -> Text,
        deadline -> Nullable<Date>,
        status -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    agreements (id) {
        id -> BigInt,
        number -> Text,
        event_id -> BigInt,
        pledge_id -> BigInt,
        signed_on -> Date,
        charity_signatory -> Text,
        note -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    agreement_needs (agreement_id, need_id) {
        agreement_id -> BigInt,
        need_id -> BigInt,
        referral_id -> BigInt,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        kind -> Text,
        dedupe_key -> Text,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        raw -> Text,
        message_id -> Text,
        status -> Text,
        attempts -> BigInt,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        last_error -> Text,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(user_regions -> users (user_id));
diesel::joinable!(resources -> organisations (organisation_id));
diesel::joinable!(resource_history -> resources (resource_id));
diesel::joinable!(members -> households (household_id));
diesel::joinable!(assessments -> households (household_id));
diesel::joinable!(needs -> households (household_id));
diesel::joinable!(need_events -> needs (need_id));
diesel::joinable!(case_notes -> households (household_id));
diesel::joinable!(alerts -> households (household_id));
diesel::joinable!(bundles -> households (household_id));
diesel::joinable!(referrals -> needs (need_id));
diesel::joinable!(referrals -> resources (resource_id));
diesel::joinable!(referral_events -> referrals (referral_id));
diesel::joinable!(event_items -> events (event_id));
diesel::joinable!(event_item_needs -> event_items (item_id));
diesel::joinable!(event_item_needs -> needs (need_id));
diesel::joinable!(pledges -> events (event_id));
diesel::joinable!(pledges -> event_items (item_id));
diesel::joinable!(pledges -> organisations (organisation_id));
diesel::joinable!(pledges -> resources (resource_id));
diesel::joinable!(agreements -> events (event_id));
diesel::joinable!(agreements -> pledges (pledge_id));
diesel::joinable!(agreement_needs -> agreements (agreement_id));
diesel::joinable!(agreement_needs -> needs (need_id));
diesel::joinable!(agreement_needs -> referrals (referral_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    users,
    user_regions,
    resources,
    resource_history,
    change_log,
    regions,
    app_settings,
    households,
    members,
    assessments,
    needs,
    need_events,
    case_notes,
    audit_log,
    alerts,
    bundles,
    referrals,
    referral_events,
    events,
    event_items,
    event_item_needs,
    pledges,
    agreements,
    agreement_needs,
    outbox,
    leases,
);
