//! Household pages for advisers and admins (charities are refused): the
//! list and ID-number search, the record form, the household's page with
//! reveal and case notes, the assessment form, and closing a record or
//! withdrawing consent.

pub mod assess;
pub mod detail;
pub mod editing;
pub mod form;
pub mod import;
pub mod lifecycle;
pub mod list;

use actix_web::web;

use crate::auth::Role;

/// Who may open household pages.
pub const STAFF: &[Role] = &[Role::Admin, Role::Adviser];

pub fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/households", web::get().to(list::list))
        .route("/households.xlsx", web::get().to(list::export_xlsx))
        .route(
            "/households/import/template.xlsx",
            web::get().to(import::template),
        )
        .service(
            web::resource("/households/import")
                .app_data(import::upload_config())
                .route(web::get().to(import::form))
                .route(web::post().to(import::upload)),
        )
        .route("/households/lookup", web::post().to(list::lookup))
        .route("/households/new", web::get().to(editing::new_form))
        .route("/households/new", web::post().to(editing::create))
        .route("/households/{ref}", web::get().to(detail::detail))
        .route("/households/{ref}/edit", web::get().to(editing::edit_form))
        .route("/households/{ref}/edit", web::post().to(editing::update))
        .route("/households/{ref}/reveal", web::post().to(detail::reveal))
        .route("/households/{ref}/notes", web::post().to(detail::add_note))
        .route(
            "/households/{ref}/close",
            web::get().to(lifecycle::confirm_close),
        )
        .route(
            "/households/{ref}/status",
            web::post().to(lifecycle::set_status),
        )
        .route(
            "/households/{ref}/withdraw-consent",
            web::get().to(lifecycle::confirm_withdraw),
        )
        .route(
            "/households/{ref}/withdraw-consent",
            web::post().to(lifecycle::withdraw_consent),
        )
        .route("/households/{ref}/assess", web::get().to(assess::form))
        .route("/households/{ref}/assess", web::post().to(assess::submit));
}
