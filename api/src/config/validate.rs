//! Settings checked before anything starts: a value that cannot work (a zero
//! chunk size, a half-given admin bootstrap) stops the command with one line
//! naming the flag and its variable, instead of failing later or silently.
use super::Settings;

impl Settings {
    /// Every setting that cannot work, as one message (`None`: all good).
    pub fn problems(&self) -> Option<String> {
        let mut problems = Vec::new();
        let mut positive = |value: u64, flag: &str, env: &str| {
            if value == 0 {
                problems.push(format!("--{flag} ({env}) must be at least 1"));
            }
        };
        positive(self.chunk_size, "chunk-size", "SYNC_CHUNK_SIZE");
        positive(self.max_chunk_size, "max-chunk-size", "SYNC_MAX_CHUNK_SIZE");
        positive(self.max_file_size, "max-file-size", "FERRY_MAX_FILE_SIZE");
        positive(
            self.chunk_cleanup_days.into(),
            "chunk-cleanup-days",
            "SYNC_CHUNK_CLEANUP_DAYS",
        );
        positive(
            self.max_concurrent_uploads.into(),
            "max-concurrent-uploads",
            "SYNC_MAX_CONCURRENT_UPLOADS",
        );
        positive(
            self.cleanup_interval_secs,
            "cleanup-interval-secs",
            "FERRY_CLEANUP_INTERVAL_SECS",
        );
        positive(
            self.chunk_idle_timeout_secs,
            "chunk-idle-timeout-secs",
            "FERRY_CHUNK_IDLE_TIMEOUT_SECS",
        );
        positive(
            self.token_ttl_days.into(),
            "token-ttl-days",
            "FERRY_TOKEN_TTL_DAYS",
        );
        let b = &self.bounds;
        positive(
            b.header_timeout_secs,
            "header-timeout-secs",
            "FERRY_HEADER_TIMEOUT_SECS",
        );
        positive(
            b.body_idle_timeout_secs,
            "body-idle-timeout-secs",
            "FERRY_BODY_IDLE_TIMEOUT_SECS",
        );
        positive(
            b.small_body_timeout_secs,
            "small-body-timeout-secs",
            "FERRY_SMALL_BODY_TIMEOUT_SECS",
        );
        positive(
            b.socket_init_timeout_secs,
            "socket-init-timeout-secs",
            "FERRY_SOCKET_INIT_TIMEOUT_SECS",
        );
        positive(
            b.socket_recheck_secs,
            "socket-recheck-secs",
            "FERRY_SOCKET_RECHECK_SECS",
        );
        positive(
            b.max_sockets_per_user as u64,
            "max-sockets-per-user",
            "FERRY_MAX_SOCKETS_PER_USER",
        );
        positive(
            b.max_subscriptions_per_socket as u64,
            "max-subscriptions-per-socket",
            "FERRY_MAX_SUBSCRIPTIONS_PER_SOCKET",
        );
        positive(b.max_ranges as u64, "max-ranges", "FERRY_MAX_RANGES");
        if self.chunk_size > self.max_chunk_size {
            problems.push(format!(
                "--chunk-size ({}) must not exceed --max-chunk-size ({})",
                self.chunk_size, self.max_chunk_size
            ));
        }
        if b.max_request_body < 1024 {
            problems.push(
                "--max-request-body (FERRY_MAX_REQUEST_BODY) must be at least 1024 bytes".into(),
            );
        }
        match (&self.admin_user, &self.admin_password) {
            (Some(_), None) => problems.push(
                "--admin-user (FERRY_ADMIN_USER) is set but --admin-password (FERRY_ADMIN_PASSWORD) is not: give both, or neither".into(),
            ),
            (None, Some(_)) => problems.push(
                "--admin-password (FERRY_ADMIN_PASSWORD) is set but --admin-user (FERRY_ADMIN_USER) is not: give both, or neither".into(),
            ),
            _ => {}
        }
        if let Some(url) = &self.storage {
            if let Err(problem) = crate::service::files::object_blocks::S3Location::parse(url) {
                problems.push(format!("--storage (FERRY_STORAGE): {problem}"));
            }
            if self.s3_access_key_id.is_some() != self.s3_secret_access_key.is_some() {
                problems.push(
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be given together".into(),
                );
            }
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Cli;
    use clap::Parser;

    fn problems(args: &[&str]) -> Option<String> {
        let mut all = vec!["ferry"];
        all.extend_from_slice(args);
        all.push("serve");
        Cli::try_parse_from(all).unwrap().settings.problems()
    }

    #[test]
    fn defaults_are_fine() {
        assert_eq!(problems(&[]), None);
    }

    #[test]
    fn a_zero_chunk_size_is_refused() {
        let found = problems(&["--chunk-size", "0"]).unwrap();
        assert!(found.contains("--chunk-size (SYNC_CHUNK_SIZE)"), "{found}");
    }

    #[test]
    fn a_chunk_size_over_the_maximum_is_refused() {
        let found = problems(&["--chunk-size", "200", "--max-chunk-size", "100"]).unwrap();
        assert!(found.contains("must not exceed"), "{found}");
    }

    #[test]
    fn a_half_given_admin_bootstrap_is_refused() {
        let found = problems(&["--admin-user", "root"]).unwrap();
        assert!(found.contains("--admin-password"), "{found}");
        let found = problems(&["--admin-password", "secret-secret"]).unwrap();
        assert!(found.contains("--admin-user"), "{found}");
        assert_eq!(
            problems(&["--admin-user", "root", "--admin-password", "secret-secret"]),
            None
        );
    }
}
