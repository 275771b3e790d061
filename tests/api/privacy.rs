//! Personal data protection that does not depend on households: the data
//! key a database was written with.

use aidmatch::config::Secret;
use aidmatch::startup::Application;

use crate::helpers::TestApp;

crate::backend_tests!(an_instance_with_another_data_key_refuses_to_start);

async fn an_instance_with_another_data_key_refuses_to_start(app: TestApp) {
    // The test server started with the shared key; the same key starts again.
    let other_dir = tempfile::tempdir().unwrap();
    let mut same = app.settings.clone();
    same.data_dir = other_dir.path().to_path_buf();
    assert!(Application::build(same).is_ok());

    // Same database (and data directory), another key: refused before
    // anything else is opened.
    let mut other = app.settings.clone();
    other.data_key = Some(Secret::new("7b".repeat(32)));
    let err = Application::build(other)
        .err()
        .expect("another key is refused");
    let message = err.to_string();
    assert!(message.contains("数据密钥"), "{message}");

    // A key that is not 64 hexadecimal digits is refused with its reason.
    let mut malformed = app.settings.clone();
    malformed.data_key = Some(Secret::new("not-a-key"));
    let message = Application::build(malformed)
        .err()
        .expect("refused")
        .to_string();
    assert!(message.contains("64"), "{message}");
}
