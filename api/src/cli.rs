//! The `ferry` command line: `serve`, `migrate`, `user`, `token`.
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
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("while reading the password from stdin")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let role = if admin { Role::Admin } else { Role::User };
            let user = services.create_user(None, &name, password, role).await?;
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
