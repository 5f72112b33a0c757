//! The `ferry` command line: `serve`, `migrate`, `user`, `token`, `cert`, `schema`, `sync`.
use std::io::Read;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use crate::{
    config::{CertCommand, Cli, Command, TokenCommand, UserCommand},
    service::{Clock, Role},
};

/// Logs to stderr, filtered by `RUST_LOG` (default: info, with sqlx quiet).
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The whole program: parse the command line, run it, and on failure print the
/// error as one line (`error: what: why`) and exit with status 1 — no backtrace.
pub async fn main() -> std::process::ExitCode {
    init_tracing();
    match run(<Cli as clap::Parser>::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Run one parsed command line to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    let uses_settings = matches!(
        cli.command,
        Command::Serve | Command::Migrate | Command::User(_) | Command::Token(_)
    );
    if uses_settings && let Some(problems) = settings.problems() {
        anyhow::bail!("invalid settings: {problems}");
    }
    // Only `serve` and `migrate` may make the data directory: anything else run
    // from the wrong folder would silently start an empty server's worth of state.
    let needs_existing = matches!(cli.command, Command::User(_) | Command::Token(_));
    if needs_existing && !settings.data_dir.is_dir() {
        anyhow::bail!(
            "no data directory at {}: run this where the server's data is, pass --data-dir (FERRY_DATA_DIR), or start the server once with `ferry serve` (or `ferry migrate`) to make it",
            settings.data_dir.display()
        );
    }
    match cli.command {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(settings.bind)
                .await
                .with_context(|| format!("while binding {}", settings.bind))?;
            crate::launch(settings, listener, shutdown_signal()).await
        }
        Command::Cert(CertCommand::SelfSigned { hosts, out }) => {
            let files = crate::tls::write_self_signed(&hosts, &out)?;
            println!(
                "wrote {} and {} (self-signed, for {}); try:\n  ferry serve --tls-cert {} --tls-key {}",
                files.cert.display(),
                files.key.display(),
                hosts.join(", "),
                files.cert.display(),
                files.key.display()
            );
            Ok(())
        }
        Command::Sync(command) => Ok(client::cli::run(command).await?),
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Migrate => {
            crate::open_database(&settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::User(UserCommand::Create {
            name,
            admin,
            password_stdin: _,
        }) => {
            let services = crate::open_services(&settings, Clock::system()).await?;
            let password = read_password()?;
            let role = if admin { Role::Admin } else { Role::User };
            let user = services.create_user(None, &name, &password, role).await?;
            println!(
                "created {} ({}) {}",
                user.username,
                user.role.as_str(),
                user.id
            );
            Ok(())
        }
        Command::User(UserCommand::List) => {
            let services = crate::open_services(&settings, Clock::system()).await?;
            for user in services.list_users(None).await? {
                let state = if user.disabled { " disabled" } else { "" };
                println!(
                    "{}\t{}\t{}{state}",
                    user.id,
                    user.username,
                    user.role.as_str()
                );
            }
            Ok(())
        }
        Command::User(UserCommand::Role { name, role }) => {
            let services = crate::open_services(&settings, Clock::system()).await?;
            let role = Role::parse(&role).context("role must be admin or user")?;
            let user = services.set_user_role(None, &name, role).await?;
            println!("{} is now {}", user.username, user.role.as_str());
            Ok(())
        }
        Command::User(UserCommand::Disable { name }) => {
            let services = crate::open_services(&settings, Clock::system()).await?;
            let user = services.user_by_name(None, &name).await?;
            services.set_user_disabled(None, user.id, true).await?;
            println!("{name} is disabled (every token of theirs stopped working)");
            Ok(())
        }
        Command::User(UserCommand::Enable { name }) => {
            let services = crate::open_services(&settings, Clock::system()).await?;
            let user = services.user_by_name(None, &name).await?;
            services.set_user_disabled(None, user.id, false).await?;
            println!("{name} is enabled");
            Ok(())
        }
        Command::User(UserCommand::Password {
            name,
            password_stdin: _,
        }) => {
            let services = crate::open_services(&settings, Clock::system()).await?;
            let user = services.user_by_name(None, &name).await?;
            let password = read_password()?;
            services.reset_password(None, user.id, &password).await?;
            println!("{name} has a new password; every token of theirs was revoked");
            Ok(())
        }
        Command::User(UserCommand::Delete { name, yes: _ }) => {
            let services = crate::open_services(&settings, Clock::system()).await?;
            let user = services.user_by_name(None, &name).await?;
            services.delete_user(None, user.id).await?;
            println!("deleted {name} and everything of theirs");
            Ok(())
        }
        Command::Token(TokenCommand::List { user }) => {
            let services = crate::open_services(&settings, Clock::system()).await?;
            println!("id\tname\tdevice\tcreated\texpires\trevoked");
            for (token, device) in services.operator_tokens(&user).await? {
                let device = device.as_deref().unwrap_or("-");
                let at = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339())
                };
                println!(
                    "{}\t{}\t{device}\t{}\t{}\t{}",
                    token.id,
                    token.name,
                    token.created_at.to_rfc3339(),
                    at(token.expires_at),
                    at(token.revoked_at)
                );
            }
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            let services = crate::open_services(&settings, Clock::system()).await?;
            services.operator_revoke_token(id).await?;
            println!("revoked {id}");
            Ok(())
        }
        Command::Token(TokenCommand::Create { user, device, name }) => {
            let services = crate::open_services(&settings, Clock::system()).await?;
            let token = services
                .create_token_for(&user, device.as_deref(), name.as_deref())
                .await?;
            println!("{token}");
            Ok(())
        }
    }
}

/// A password from standard input, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("while reading the password from stdin")?;
    Ok(password.trim_end_matches(['\r', '\n']).to_owned())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    tracing::info!("shutting down");
}
