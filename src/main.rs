use clap::Parser;

#[actix_web::main]
async fn main() {
    aidmatch::telemetry::init();
    let cli = aidmatch::cli::Cli::parse();
    match aidmatch::cli::run(cli).await {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("错误 (error): {e:#}");
            std::process::exit(1);
        }
    }
}
