//! `ferry sync …`: the command line of the client.
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::api::Api;
use crate::error::{Error, Result};
use crate::pass::Folder;
use crate::state::State;

/// Keep a folder in sync with a Ferry server.
#[derive(Debug, clap::Subcommand)]
pub enum SyncCommand {
    /// Set DIR up to sync: log in as NAME from device ID (registered on first
    /// use) and keep the device's token in DIR/.ferry/ (mode 0600).
    Init {
        dir: PathBuf,
        /// The server, e.g. https://ferry.example:8000
        #[arg(long)]
        server: String,
        /// Your username.
        #[arg(long)]
        user: String,
        /// This device's id (unique among your devices).
        #[arg(long)]
        device: String,
        /// A name for the device, shown in the dashboard.
        #[arg(long)]
        device_name: Option<String>,
        /// A PEM file of the CA that signed the server's certificate.
        #[arg(long)]
        ca_cert: Option<PathBuf>,
        /// Read the password from standard input (the only way to give it).
        #[arg(long)]
        password_stdin: bool,
    },
    /// One full pass now: send local changes, fetch the server's; exit 0 once
    /// both sides agree.
    Run { dir: PathBuf },
    /// Stay in sync until SIGINT or SIGTERM.
    Watch { dir: PathBuf },
    /// What is pending, held back or left out.
    Status {
        dir: PathBuf,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Run one `ferry sync` command to completion.
pub async fn run(command: SyncCommand) -> Result<()> {
    match command {
        SyncCommand::Init {
            dir,
            server,
            user,
            device,
            device_name,
            ca_cert,
            password_stdin,
        } => {
            if !password_stdin {
                return Err(Error::Setup(
                    "give the password on standard input with --password-stdin".into(),
                ));
            }
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|e| Error::io("standard input", e))?;
            let password = password.trim_end_matches(['\r', '\n']);
            let setup = Setup {
                server: &server,
                user: &user,
                device: &device,
                device_name: device_name.as_deref(),
                ca_cert: ca_cert.as_deref(),
            };
            init(&dir, &setup, password).await?;
            println!(
                "{} syncs with {server} as {user} on device {device}; next: ferry sync run {}",
                dir.display(),
                dir.display()
            );
            Ok(())
        }
        SyncCommand::Run { dir } => {
            let folder = Folder::open(&dir).await?;
            let summary = crate::watch::until_agreed(&folder).await;
            folder.state.close().await;
            println!("{}", summary?);
            Ok(())
        }
        SyncCommand::Watch { dir } => {
            let folder = Folder::open(&dir).await?;
            let result = crate::watch::watch(&folder, crate::watch::shutdown_signal()).await;
            folder.state.close().await;
            result
        }
        SyncCommand::Status { dir, json } => crate::status::print(&dir, json).await,
    }
}

/// What `init` needs besides the folder and password.
#[derive(Debug)]
pub struct Setup<'a> {
    pub server: &'a str,
    pub user: &'a str,
    pub device: &'a str,
    pub device_name: Option<&'a str>,
    pub ca_cert: Option<&'a Path>,
}

/// Set `dir` up: state, login, token (mode 0600).
pub async fn init(dir: &Path, setup: &Setup<'_>, password: &str) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let ca_cert = setup
        .ca_cert
        .map(|p| std::fs::canonicalize(p).map_err(|e| Error::io(p, e)))
        .transpose()?;
    let api = Api::new(setup.server, ca_cert.as_deref(), None)?;
    let token = api
        .login(setup.user, password, setup.device, setup.device_name)
        .await?;
    let state = State::create(dir).await?;
    let token_file = state.dir().join("token");
    write_private(&token_file, token.as_bytes())?;
    state.set_setting("server", setup.server).await?;
    state.set_setting("user", setup.user).await?;
    state.set_setting("device_id", setup.device).await?;
    if let Some(ca) = &ca_cert {
        state.set_setting("ca_cert", &ca.to_string_lossy()).await?;
    }
    state.close().await;
    Ok(())
}

/// Write `bytes` to a file only its owner can read (mode 0600 from the start).
fn write_private(file: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = file.with_extension("new");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
    f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    crate::state::restrict(&tmp, 0o600)?;
    std::fs::rename(&tmp, file).map_err(|e| Error::io(file, e))
}
