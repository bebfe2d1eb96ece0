//! Configuration: every flag is also an environment variable (clap `env`).

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "flokon-api",
    version,
    about = "Flokon's GraphQL API: clients, service points, occupants, imports, sectors."
)]
pub struct Cli {
    /// Database URL: `sqlite://FILE?mode=rwc` (created if missing) or `postgres://...`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://flokon.db?mode=rwc",
        global = true
    )]
    pub database_url: String,

    #[command(flatten)]
    pub database: DbConfig,

    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub serve: ServeConfig,
}

/// The connection pool and what no statement may exceed, so that a blocked
/// request never holds a connection forever.
#[derive(Clone, Debug, Args)]
pub struct DbConfig {
    /// Connections in the pool, per instance (PostgreSQL: mind
    /// `max_connections` across instances).
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 10, global = true)]
    pub db_max_connections: u32,
    /// How long a request waits for a free connection.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT", default_value = "10s", value_parser = crate::domain::parse_duration, global = true)]
    pub db_acquire_timeout: Duration,
    /// Longest statement (PostgreSQL `statement_timeout`; 0 for none).
    #[arg(long, env = "DB_STATEMENT_TIMEOUT", default_value = "60s", value_parser = crate::domain::parse_duration, global = true)]
    pub db_statement_timeout: Duration,
    /// Longest wait for a lock (PostgreSQL `lock_timeout`, SQLite's busy
    /// timeout); past it the request fails with `BUSY`, to be retried.
    #[arg(long, env = "DB_LOCK_TIMEOUT", default_value = "10s", value_parser = crate::domain::parse_duration, global = true)]
    pub db_lock_timeout: Duration,
    /// Apply pending migrations when the server starts (under a database
    /// lock, so instances booting together take turns); `false` leaves them
    /// to `flokon-api migrate`.
    #[arg(long, env = "MIGRATE_ON_START", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub migrate_on_start: bool,
}

impl Default for DbConfig {
    fn default() -> DbConfig {
        DbConfig {
            db_max_connections: 10,
            db_acquire_timeout: Duration::from_secs(10),
            db_statement_timeout: Duration::from_secs(60),
            db_lock_timeout: Duration::from_secs(10),
            migrate_on_start: true,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Apply pending database migrations.
    Migrate,
    /// Organizations (tenants).
    #[command(subcommand)]
    Org(OrgCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Import a spreadsheet for an organization, as `importSpreadsheet`
    /// does (exit status 0 when committed, or a clean dry run).
    Import(crate::command::ImportArgs),
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization and print its first token (shown once).
    Create { name: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for an organization and print it (shown once).
    Create {
        #[arg(long)]
        org: uuid::Uuid,
        #[arg(long)]
        label: Option<String>,
    },
    /// Revoke a token, named by its id or by its value.
    Revoke { token: String },
    /// List an organization's tokens (ids and labels, never values).
    List {
        #[arg(long)]
        org: uuid::Uuid,
    },
}

#[derive(Clone, Debug, Args)]
pub struct ServeConfig {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "BIND_ADDR",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    pub bind_addr: String,

    #[command(flatten)]
    pub limits: Limits,

    #[command(flatten)]
    pub geocoding: crate::geocode::GeocoderConfig,

    #[command(flatten)]
    pub jobs: JobsConfig,

    #[command(flatten)]
    pub webhooks: WebhookConfig,

    /// Run the background workers (queued imports, retention, webhook
    /// deliveries, geocoding). Not a flag: tests that count a request's
    /// statements turn them off.
    #[arg(skip = true)]
    pub background_workers: bool,

    /// Serve GraphiQL at `GET /graphql` (its files under `/graphiql/`).
    #[arg(long, env = "GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub graphiql: bool,

    /// Answer introspection queries (turn off in production if the schema is private).
    #[arg(long, env = "INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub introspection: bool,

    /// Origins whose pages may call the API from a browser (CORS): exact
    /// origins, comma-separated (`https://app.example.ca,http://localhost:5173`),
    /// or `*` for any. Empty (the default): same origin only.
    #[arg(
        long,
        env = "CORS_ALLOWED_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_allowed_origins: Vec<String>,

    /// How long a valid token is trusted before the database is asked
    /// again (each instance keeps its own): a revoked token stops working
    /// within this delay. 0 asks on every request.
    #[arg(long, env = "AUTH_CACHE_TTL", default_value = "5s", value_parser = crate::domain::parse_duration, global = true)]
    pub auth_cache_ttl: Duration,

    /// On SIGTERM, how long requests in flight may take to finish before
    /// the server stops anyway.
    #[arg(long, env = "SHUTDOWN_GRACE", default_value = "30s", value_parser = crate::domain::parse_duration, global = true)]
    pub shutdown_grace: Duration,
}

/// Imports run as jobs, and what is kept of them.
#[derive(Clone, Debug, Args)]
pub struct JobsConfig {
    /// How long a running import's claim holds without renewal: an instance
    /// that dies mid-import has its run declared `FAILED` (and its
    /// organization's imports blocked) this long at most.
    #[arg(long, env = "IMPORT_LEASE", default_value = "60s", value_parser = crate::domain::parse_duration, global = true)]
    pub import_lease: Duration,
    /// Background imports (`wait: false`) one instance runs at once.
    #[arg(long, env = "IMPORT_WORKERS", default_value_t = 2, global = true)]
    pub import_workers: usize,
    /// Days row reports, stored uploads and idempotency keys are kept (keys
    /// at least one day); each run's summary is kept.
    #[arg(
        long,
        env = "IMPORT_RETENTION_DAYS",
        default_value_t = 90,
        global = true
    )]
    pub import_retention_days: u32,
    /// How long an undo snapshot (the records as they were before a
    /// destructive import) is kept when no later import drops it first.
    #[arg(long, env = "UNDO_WINDOW", default_value = "30d", value_parser = crate::domain::parse_duration, global = true)]
    pub undo_window: Duration,
    /// How often one instance of the deployment runs the retention pass.
    #[arg(long, env = "IMPORT_RETENTION_INTERVAL", default_value = "1h", value_parser = crate::domain::parse_duration, global = true)]
    pub import_retention_interval: Duration,
}

impl Default for JobsConfig {
    fn default() -> JobsConfig {
        JobsConfig {
            import_lease: Duration::from_secs(60),
            import_workers: 2,
            import_retention_days: 90,
            undo_window: Duration::from_secs(30 * 86_400),
            import_retention_interval: Duration::from_secs(3600),
        }
    }
}

/// Webhook deliveries.
#[derive(Clone, Debug, Args)]
pub struct WebhookConfig {
    /// Allow endpoint URLs in http and on private, loopback or link-local
    /// addresses (a receiver on your own network). Off: https to public
    /// addresses only, checked at every connection.
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub webhook_allow_private: bool,
    /// The waits before each retry of a failed delivery; past the last one
    /// it is `FAILED` (about a day in all).
    #[arg(long, env = "WEBHOOK_RETRY_DELAYS", value_delimiter = ',', default_value = "5s,5m,30m,2h,5h,10h,10h", value_parser = crate::domain::parse_duration, global = true)]
    pub webhook_retry_delays: Vec<Duration>,
    /// How long a receiver has to answer.
    #[arg(long, env = "WEBHOOK_TIMEOUT", default_value = "10s", value_parser = crate::domain::parse_duration, global = true)]
    pub webhook_timeout: Duration,
    /// A proxy for deliveries (`http://proxy:3128`). `HTTP_PROXY` and
    /// `HTTPS_PROXY` are ignored for them: a proxy resolves names itself,
    /// out of reach of the check at every connection.
    #[arg(long, env = "WEBHOOK_PROXY", global = true)]
    pub webhook_proxy: Option<String>,
    /// Test deliveries (`sendTestWebhook`) an organization may queue a
    /// minute.
    #[arg(
        long,
        env = "WEBHOOK_TEST_SENDS_PER_MINUTE",
        default_value_t = 10,
        global = true
    )]
    pub webhook_test_sends_per_minute: usize,
    /// How often each instance looks for deliveries due.
    #[arg(long, env = "WEBHOOK_WORKER_INTERVAL", default_value = "250ms", value_parser = crate::domain::parse_duration, global = true)]
    pub webhook_worker_interval: Duration,
}

impl Default for WebhookConfig {
    fn default() -> WebhookConfig {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        WebhookConfig {
            webhook_allow_private: false,
            webhook_retry_delays: vec![
                Duration::from_secs(5),
                minutes(5),
                minutes(30),
                minutes(120),
                minutes(300),
                minutes(600),
                minutes(600),
            ],
            webhook_timeout: Duration::from_secs(10),
            webhook_proxy: None,
            webhook_test_sends_per_minute: 10,
            webhook_worker_interval: Duration::from_millis(250),
        }
    }
}

/// `DEFAULT_PAGE_SIZE`'s default.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// Webhook endpoints an organization may register.
pub const MAX_WEBHOOK_ENDPOINTS: usize = 20;

#[derive(Clone, Debug, Args)]
pub struct Limits {
    /// Deepest query accepted (GraphiQL's introspection needs 13).
    #[arg(long, env = "MAX_QUERY_DEPTH", default_value_t = 16, global = true)]
    pub max_depth: usize,
    /// Highest query cost accepted: the fields it may resolve, every list
    /// counted times the rows it may return (`first`, or a stated bound).
    #[arg(
        long,
        env = "MAX_QUERY_COMPLEXITY",
        default_value_t = 500_000,
        global = true
    )]
    pub max_complexity: usize,
    /// Field selections a document may hold once its fragments are
    /// expanded (fragments spreading fragments grow exponentially).
    #[arg(long, env = "MAX_QUERY_FIELDS", default_value_t = 5_000, global = true)]
    pub max_query_fields: usize,
    /// Largest `first` accepted on a connection.
    #[arg(long, env = "MAX_PAGE_SIZE", default_value_t = 500, global = true)]
    pub max_page_size: u64,
    /// `first` when a query does not say.
    #[arg(long, env = "DEFAULT_PAGE_SIZE", default_value_t = DEFAULT_PAGE_SIZE as u64, global = true)]
    pub default_page_size: u64,
    /// Operations per request: 1 turns batching off.
    #[arg(long, env = "MAX_BATCH", default_value_t = 1, global = true)]
    pub max_batch: usize,
    /// Longest query text accepted, in bytes.
    #[arg(long, env = "MAX_QUERY_BYTES", default_value_t = 32 * 1024, global = true)]
    pub max_query_bytes: usize,
    /// Aliased fields a request may hold (aliases multiply the work of one
    /// field; OWASP's advice is about 100).
    #[arg(long, env = "MAX_ALIASES", default_value_t = 100, global = true)]
    pub max_aliases: usize,
    /// From this complexity on, an operation is expensive: an organization
    /// runs `MAX_EXPENSIVE_PER_ORG` of those at a time.
    #[arg(
        long,
        env = "EXPENSIVE_COMPLEXITY",
        default_value_t = 100_000,
        global = true
    )]
    pub expensive_complexity: usize,
    /// Expensive operations an organization may run at once; past it,
    /// `LIMIT_EXCEEDED` at once (try again in a moment).
    #[arg(
        long,
        env = "MAX_EXPENSIVE_PER_ORG",
        default_value_t = 4,
        global = true
    )]
    pub max_expensive_per_org: usize,
    /// Live subscriptions an organization may hold at once (each polls
    /// the database); past it, `LIMIT_EXCEEDED`.
    #[arg(long, env = "MAX_SUBSCRIPTIONS", default_value_t = 50, global = true)]
    pub max_subscriptions: usize,
    /// How long a websocket may stay silent before its first message
    /// (`connection_init`), then it is closed.
    #[arg(long, env = "WS_INIT_TIMEOUT", default_value = "10s", value_parser = crate::domain::parse_duration, global = true)]
    pub ws_init_timeout: Duration,
    /// Longest a socket lives; then it is closed and the client reconnects
    /// (with a token that is still valid).
    #[arg(long, env = "WS_MAX_LIFETIME", default_value = "1h", value_parser = crate::domain::parse_duration, global = true)]
    pub ws_max_lifetime: Duration,
    /// Open websockets an organization may hold.
    #[arg(
        long,
        env = "MAX_SOCKETS_PER_ORG",
        default_value_t = 100,
        global = true
    )]
    pub max_sockets_per_org: usize,
    /// Websockets one address may hold before they say `connection_init`.
    #[arg(
        long,
        env = "MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS",
        default_value_t = 10,
        global = true
    )]
    pub max_unauthenticated_sockets_per_address: usize,
    /// Longest an operation runs (imports sent with `wait: true` excepted:
    /// they run as jobs); past it, `TIMEOUT` and its work is dropped.
    #[arg(long, env = "REQUEST_TIMEOUT", default_value = "30s", value_parser = crate::domain::parse_duration, global = true)]
    pub request_timeout: Duration,
    /// Largest response built, in bytes; a larger one is replaced by a
    /// `LIMIT_EXCEEDED` error.
    #[arg(long, env = "MAX_RESPONSE_BYTES", default_value_t = 16 * 1024 * 1024, global = true)]
    pub max_response_bytes: usize,
    /// Requests served at once by one instance (`/health` aside); beyond,
    /// 503 with `Retry-After`.
    #[arg(
        long,
        env = "MAX_REQUESTS_IN_FLIGHT",
        default_value_t = 512,
        global = true
    )]
    pub max_requests_in_flight: usize,
    /// Largest body read from a request without a valid token: enough for
    /// GraphiQL's introspection; a larger one is refused (401) unread.
    #[arg(long, env = "MAX_ANONYMOUS_BODY_BYTES", default_value_t = 64 * 1024, global = true)]
    pub max_anonymous_body_bytes: usize,
    /// Largest request body (and so upload) accepted, in bytes.
    #[arg(long, env = "MAX_UPLOAD_BYTES", default_value_t = 20 * 1024 * 1024, global = true)]
    pub max_upload_bytes: usize,
    /// Data rows an import may hold.
    #[arg(
        long,
        env = "MAX_IMPORT_ROWS",
        default_value_t = 100_000,
        global = true
    )]
    pub max_import_rows: usize,
    /// Uncompressed size an xlsx/ods archive may reach (zip bombs).
    #[arg(long, env = "MAX_UNCOMPRESSED_BYTES", default_value_t = 200 * 1024 * 1024, global = true)]
    pub max_uncompressed_bytes: u64,
    /// Positions a sector's geometry may hold (all its rings; all the
    /// features of an `importSectors` file).
    #[arg(
        long,
        env = "MAX_SECTOR_VERTICES",
        default_value_t = 100_000,
        global = true
    )]
    pub max_sector_vertices: usize,
    /// Characters a cell may hold.
    #[arg(long, env = "MAX_CELL_CHARS", default_value_t = 2_000, global = true)]
    pub max_cell_chars: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 16,
            max_complexity: 500_000,
            max_query_fields: 5_000,
            max_page_size: 500,
            default_page_size: DEFAULT_PAGE_SIZE as u64,
            max_batch: 1,
            max_query_bytes: 32 * 1024,
            max_aliases: 100,
            max_subscriptions: 50,
            expensive_complexity: 100_000,
            max_expensive_per_org: 4,
            ws_init_timeout: Duration::from_secs(10),
            ws_max_lifetime: Duration::from_secs(3600),
            max_sockets_per_org: 100,
            max_unauthenticated_sockets_per_address: 10,
            request_timeout: Duration::from_secs(30),
            max_response_bytes: 16 * 1024 * 1024,
            max_requests_in_flight: 512,
            max_anonymous_body_bytes: 64 * 1024,
            max_upload_bytes: 20 * 1024 * 1024,
            max_import_rows: 100_000,
            max_uncompressed_bytes: 200 * 1024 * 1024,
            max_cell_chars: 2_000,
            max_sector_vertices: 100_000,
        }
    }
}

impl Limits {
    pub fn import(&self) -> crate::import::ImportLimits {
        crate::import::ImportLimits {
            max_rows: self.max_import_rows,
            read: crate::import::read::ReadLimits {
                max_rows: self.max_import_rows,
                max_uncompressed_bytes: self.max_uncompressed_bytes,
                max_cell_chars: self.max_cell_chars,
                max_columns: 200,
            },
        }
    }
}

impl Default for ServeConfig {
    fn default() -> ServeConfig {
        ServeConfig {
            bind_addr: "127.0.0.1:8000".to_owned(),
            limits: Limits::default(),
            geocoding: crate::geocode::GeocoderConfig::default(),
            jobs: JobsConfig::default(),
            webhooks: WebhookConfig::default(),
            background_workers: true,
            graphiql: true,
            introspection: true,
            cors_allowed_origins: Vec::new(),
            auth_cache_ttl: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}
