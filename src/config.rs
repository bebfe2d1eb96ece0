//! Settings: every flag is also an environment variable (clap `env`). Plain
//! values at the bottom of the house: the command line (`crate::cli`)
//! gathers them, each command only those it uses.

use std::time::Duration;

use clap::Args;

/// The connection pool and what no statement may exceed, so that a blocked
/// request never holds a connection forever.
#[derive(Clone, Debug, Args)]
pub struct DbConfig {
    /// Connections in the pool, per instance (PostgreSQL: mind
    /// `max_connections` across instances).
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub db_max_connections: u32,
    /// How long a request waits for a free connection.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT", default_value = "10s", value_parser = crate::domain::parse_duration)]
    pub db_acquire_timeout: Duration,
    /// Longest statement (PostgreSQL `statement_timeout`; 0 for none).
    #[arg(long, env = "DB_STATEMENT_TIMEOUT", default_value = "60s", value_parser = crate::domain::parse_duration)]
    pub db_statement_timeout: Duration,
    /// Longest wait for a lock (PostgreSQL `lock_timeout`, SQLite's busy
    /// timeout); past it the request fails with `BUSY`, to be retried.
    #[arg(long, env = "DB_LOCK_TIMEOUT", default_value = "10s", value_parser = crate::domain::parse_duration)]
    pub db_lock_timeout: Duration,
}

impl Default for DbConfig {
    fn default() -> DbConfig {
        DbConfig {
            db_max_connections: 10,
            db_acquire_timeout: Duration::from_secs(10),
            db_statement_timeout: Duration::from_secs(60),
            db_lock_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone, Debug, Args)]
pub struct ServeConfig {
    /// Address and port to listen on.
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8000")]
    pub bind_addr: String,

    #[command(flatten)]
    pub limits: Limits,

    #[command(flatten)]
    pub geocoding: GeocoderConfig,

    #[command(flatten)]
    pub imports: ImportConfig,

    #[command(flatten)]
    pub jobs: JobsConfig,

    #[command(flatten)]
    pub webhooks: WebhookConfig,

    #[command(flatten)]
    pub alerts: AlertConfig,

    /// Run the background workers (queued imports, retention, webhook
    /// deliveries, geocoding). Not a flag: tests that count a request's
    /// statements turn them off.
    #[arg(skip = true)]
    pub background_workers: bool,

    /// Serve GraphiQL at `GET /graphql` (its files under `/graphiql/`).
    #[arg(long, env = "GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphiql: bool,

    /// Answer introspection queries (turn off in production if the schema is private).
    #[arg(long, env = "INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub introspection: bool,

    /// Origins whose pages may call the API from a browser (CORS): exact
    /// origins, comma-separated (`https://app.example.ca,http://localhost:5173`),
    /// or `*` for any. Empty (the default): same origin only.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,

    /// How long a valid token is trusted before the database is asked
    /// again (each instance keeps its own): a revoked token stops working
    /// within this delay. 0 asks on every request.
    #[arg(long, env = "AUTH_CACHE_TTL", default_value = "5s", value_parser = crate::domain::parse_duration)]
    pub auth_cache_ttl: Duration,

    /// On SIGTERM, how long requests in flight may take to finish before
    /// the server stops anyway.
    #[arg(long, env = "SHUTDOWN_GRACE", default_value = "30s", value_parser = crate::domain::parse_duration)]
    pub shutdown_grace: Duration,
}

/// Imports run as jobs, and what is kept of them.
#[derive(Clone, Debug, Args)]
pub struct JobsConfig {
    /// Background imports (`wait: false`) one instance runs at once.
    #[arg(long, env = "IMPORT_WORKERS", default_value_t = 2)]
    pub import_workers: usize,
    /// Days row reports, stored uploads and idempotency keys are kept (keys
    /// at least one day); each run's summary is kept.
    #[arg(long, env = "IMPORT_RETENTION_DAYS", default_value_t = 90)]
    pub import_retention_days: u32,
    /// How long an undo snapshot (the records as they were before a
    /// destructive import) is kept when no later import drops it first.
    #[arg(long, env = "UNDO_WINDOW", default_value = "30d", value_parser = crate::domain::parse_duration)]
    pub undo_window: Duration,
    /// How often one instance of the deployment runs the retention pass.
    #[arg(long, env = "IMPORT_RETENTION_INTERVAL", default_value = "1h", value_parser = crate::domain::parse_duration)]
    pub import_retention_interval: Duration,
}

impl Default for JobsConfig {
    fn default() -> JobsConfig {
        JobsConfig {
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
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,
    /// The waits before each retry of a failed delivery; past the last one
    /// it is `FAILED` (about a day in all).
    #[arg(long, env = "WEBHOOK_RETRY_DELAYS", value_delimiter = ',', default_value = "5s,5m,30m,2h,5h,10h,10h", value_parser = crate::domain::parse_duration)]
    pub webhook_retry_delays: Vec<Duration>,
    /// How long a receiver has to answer.
    #[arg(long, env = "WEBHOOK_TIMEOUT", default_value = "10s", value_parser = crate::domain::parse_duration)]
    pub webhook_timeout: Duration,
    /// A proxy for deliveries (`http://proxy:3128`). `HTTP_PROXY` and
    /// `HTTPS_PROXY` are ignored for them: a proxy resolves names itself,
    /// out of reach of the check at every connection.
    #[arg(long, env = "WEBHOOK_PROXY")]
    pub webhook_proxy: Option<String>,
    /// Test deliveries (`sendTestWebhook`) an organization may queue a
    /// minute.
    #[arg(long, env = "WEBHOOK_TEST_SENDS_PER_MINUTE", default_value_t = 10)]
    pub webhook_test_sends_per_minute: usize,
    /// How often each instance looks for deliveries due.
    #[arg(long, env = "WEBHOOK_WORKER_INTERVAL", default_value = "250ms", value_parser = crate::domain::parse_duration)]
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

/// Twilio's own API, `TWILIO_BASE_URL`'s default.
pub const TWILIO_API: &str = "https://api.twilio.com";

/// Who carries alerts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SmsProvider {
    /// Nothing leaves: each message is logged and counted as sent.
    #[default]
    Log,
    /// Twilio's REST API, or a service that speaks it (`TWILIO_BASE_URL`).
    Twilio,
}

/// Alert dispatch: who carries the messages, at what rate, and how the
/// worker runs.
#[derive(Clone, Debug, Args)]
pub struct AlertConfig {
    /// `log` (the default: nothing leaves, each message is logged) or
    /// `twilio`.
    #[arg(long, env = "SMS_PROVIDER", value_enum, default_value_t = SmsProvider::Log)]
    pub sms_provider: SmsProvider,
    #[arg(long, env = "TWILIO_ACCOUNT_SID", default_value = "")]
    pub twilio_account_sid: String,
    #[arg(
        long,
        env = "TWILIO_AUTH_TOKEN",
        default_value = "",
        hide_env_values = true
    )]
    pub twilio_auth_token: String,
    /// The sending number (E.164), or a comma-separated pool of them.
    #[arg(long, env = "TWILIO_FROM", value_delimiter = ',')]
    pub twilio_from: Vec<String>,
    /// A messaging service instead of numbers (it picks the sender).
    #[arg(long, env = "TWILIO_MESSAGING_SERVICE_SID")]
    pub twilio_messaging_service_sid: Option<String>,
    /// Twilio's API, or a compatible service's.
    #[arg(long, env = "TWILIO_BASE_URL", default_value = TWILIO_API)]
    pub twilio_base_url: String,
    /// The server's address as the provider reaches it
    /// (`https://api.example.ca`): status callbacks go to
    /// `PUBLIC_URL/twilio/status`. Unset: no callbacks are asked for.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Messages per second per sending number, for the whole deployment
    /// (1 is Twilio's rate for a Canadian long code); 0: no limit.
    #[arg(long, env = "SMS_RATE", default_value_t = 1.0)]
    pub sms_rate: f64,
    /// How long the provider has to answer one message.
    #[arg(long, env = "SMS_TIMEOUT", default_value = "10s", value_parser = crate::domain::parse_duration)]
    pub sms_timeout: Duration,
    /// The waits before each retry of a message the provider refused for
    /// now (throttled, unreachable); past the last one it is `FAILED`.
    #[arg(long, env = "SMS_RETRY_DELAYS", value_delimiter = ',', default_value = "10s,1m,5m,15m,30m", value_parser = crate::domain::parse_duration)]
    pub sms_retry_delays: Vec<Duration>,
    /// Messages one instance has in hand at once.
    #[arg(long, env = "DISPATCH_WORKERS", default_value_t = 8)]
    pub dispatch_workers: usize,
    /// How often each instance looks for messages due.
    #[arg(long, env = "DISPATCH_WORKER_INTERVAL", default_value = "500ms", value_parser = crate::domain::parse_duration)]
    pub dispatch_worker_interval: Duration,
    /// The time alerts go by. Not a flag: tests set it to the moments that
    /// matter (the end of the sending hours, a clock-change night).
    /// Send `ê â î ô û ç ë ï` (and typographic quotes and dashes) without
    /// their accent, so that French SMS stay GSM-7: 160 characters a
    /// segment instead of 70. `é è à ù É` are GSM-7 and stay.
    #[arg(long, env = "SMS_TRANSLITERATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub sms_transliterate: bool,
    #[arg(skip)]
    pub clock: crate::domain::Clock,
}

impl Default for AlertConfig {
    fn default() -> AlertConfig {
        AlertConfig {
            sms_provider: SmsProvider::Log,
            twilio_account_sid: String::new(),
            twilio_auth_token: String::new(),
            twilio_from: Vec::new(),
            twilio_messaging_service_sid: None,
            twilio_base_url: TWILIO_API.to_owned(),
            public_url: None,
            sms_rate: 1.0,
            sms_timeout: Duration::from_secs(10),
            sms_retry_delays: [10, 60, 300, 900, 1800]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            sms_transliterate: false,
            dispatch_workers: 8,
            dispatch_worker_interval: Duration::from_millis(500),
            clock: crate::domain::Clock::system(),
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
    #[arg(long, env = "MAX_QUERY_DEPTH", default_value_t = 16)]
    pub max_depth: usize,
    /// Highest query cost accepted: the fields it may resolve, every list
    /// counted times the rows it may return (`first`, or a stated bound).
    #[arg(long, env = "MAX_QUERY_COMPLEXITY", default_value_t = 500_000)]
    pub max_complexity: usize,
    /// Field selections a document may hold once its fragments are
    /// expanded (fragments spreading fragments grow exponentially).
    #[arg(long, env = "MAX_QUERY_FIELDS", default_value_t = 5_000)]
    pub max_query_fields: usize,
    /// Largest `first` accepted on a connection.
    #[arg(long, env = "MAX_PAGE_SIZE", default_value_t = 500)]
    pub max_page_size: u64,
    /// `first` when a query does not say.
    #[arg(long, env = "DEFAULT_PAGE_SIZE", default_value_t = DEFAULT_PAGE_SIZE as u64)]
    pub default_page_size: u64,
    /// Operations per request: 1 turns batching off.
    #[arg(long, env = "MAX_BATCH", default_value_t = 1)]
    pub max_batch: usize,
    /// Longest query text accepted, in bytes.
    #[arg(long, env = "MAX_QUERY_BYTES", default_value_t = 32 * 1024)]
    pub max_query_bytes: usize,
    /// Aliased fields a request may hold (aliases multiply the work of one
    /// field; OWASP's advice is about 100).
    #[arg(long, env = "MAX_ALIASES", default_value_t = 100)]
    pub max_aliases: usize,
    /// From this complexity on, an operation is expensive: an organization
    /// runs `MAX_EXPENSIVE_PER_ORG` of those at a time.
    #[arg(long, env = "EXPENSIVE_COMPLEXITY", default_value_t = 100_000)]
    pub expensive_complexity: usize,
    /// Expensive operations an organization may run at once; past it,
    /// `LIMIT_EXCEEDED` at once (try again in a moment).
    #[arg(long, env = "MAX_EXPENSIVE_PER_ORG", default_value_t = 4)]
    pub max_expensive_per_org: usize,
    /// Live subscriptions an organization may hold at once (each polls
    /// the database); past it, `LIMIT_EXCEEDED`.
    #[arg(long, env = "MAX_SUBSCRIPTIONS", default_value_t = 50)]
    pub max_subscriptions: usize,
    /// How long a websocket may stay silent before its first message
    /// (`connection_init`), then it is closed.
    #[arg(long, env = "WS_INIT_TIMEOUT", default_value = "10s", value_parser = crate::domain::parse_duration)]
    pub ws_init_timeout: Duration,
    /// Longest a socket lives; then it is closed and the client reconnects
    /// (with a token that is still valid).
    #[arg(long, env = "WS_MAX_LIFETIME", default_value = "1h", value_parser = crate::domain::parse_duration)]
    pub ws_max_lifetime: Duration,
    /// Open websockets an organization may hold.
    #[arg(long, env = "MAX_SOCKETS_PER_ORG", default_value_t = 100)]
    pub max_sockets_per_org: usize,
    /// Websockets one address may hold before they say `connection_init`.
    #[arg(
        long,
        env = "MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS",
        default_value_t = 10
    )]
    pub max_unauthenticated_sockets_per_address: usize,
    /// Longest an operation runs (imports sent with `wait: true` excepted:
    /// they run as jobs); past it, `TIMEOUT` and its work is dropped.
    #[arg(long, env = "REQUEST_TIMEOUT", default_value = "30s", value_parser = crate::domain::parse_duration)]
    pub request_timeout: Duration,
    /// Largest response built, in bytes; a larger one is replaced by a
    /// `LIMIT_EXCEEDED` error.
    #[arg(long, env = "MAX_RESPONSE_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_response_bytes: usize,
    /// Requests served at once by one instance (`/health` aside); beyond,
    /// 503 with `Retry-After`.
    #[arg(long, env = "MAX_REQUESTS_IN_FLIGHT", default_value_t = 512)]
    pub max_requests_in_flight: usize,
    /// Largest body read from a request without a valid token: enough for
    /// GraphiQL's introspection; a larger one is refused (401) unread.
    #[arg(long, env = "MAX_ANONYMOUS_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_anonymous_body_bytes: usize,
    /// Largest request body (and so upload) accepted, in bytes.
    #[arg(long, env = "MAX_UPLOAD_BYTES", default_value_t = 20 * 1024 * 1024)]
    pub max_upload_bytes: usize,
    /// Positions a sector's geometry may hold (all its rings; all the
    /// features of an `importSectors` file).
    #[arg(long, env = "MAX_SECTOR_VERTICES", default_value_t = 100_000)]
    pub max_sector_vertices: usize,
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
            max_sector_vertices: 100_000,
        }
    }
}

impl Default for ServeConfig {
    fn default() -> ServeConfig {
        ServeConfig {
            bind_addr: "127.0.0.1:8000".to_owned(),
            limits: Limits::default(),
            geocoding: GeocoderConfig::default(),
            imports: ImportConfig::default(),
            jobs: JobsConfig::default(),
            webhooks: WebhookConfig::default(),
            alerts: AlertConfig::default(),
            background_workers: true,
            graphiql: true,
            introspection: true,
            cors_allowed_origins: Vec::new(),
            auth_cache_ttl: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// What an import may read, and how long its claim holds: the server's
/// and the `import` command's.
#[derive(Clone, Debug, Args)]
pub struct ImportConfig {
    /// Data rows an import may hold.
    #[arg(long, env = "MAX_IMPORT_ROWS", default_value_t = 100_000)]
    pub max_import_rows: usize,
    /// Uncompressed size an xlsx/ods archive may reach (zip bombs).
    #[arg(long, env = "MAX_UNCOMPRESSED_BYTES", default_value_t = 200 * 1024 * 1024)]
    pub max_uncompressed_bytes: u64,
    /// Characters a cell may hold.
    #[arg(long, env = "MAX_CELL_CHARS", default_value_t = 2_000)]
    pub max_cell_chars: usize,
    /// How long a running import's claim holds without renewal: an instance
    /// that dies mid-import has its run declared `FAILED` (and its
    /// organization's imports blocked) this long at most.
    #[arg(long, env = "IMPORT_LEASE", default_value = "60s", value_parser = crate::domain::parse_duration)]
    pub import_lease: Duration,
}

impl Default for ImportConfig {
    fn default() -> ImportConfig {
        ImportConfig {
            max_import_rows: 100_000,
            max_uncompressed_bytes: 200 * 1024 * 1024,
            max_cell_chars: 2_000,
            import_lease: Duration::from_secs(60),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderName {
    Nominatim,
    Google,
    None,
}

/// The geocoding part of the configuration.
#[derive(Clone, Debug, clap::Args)]
pub struct GeocoderConfig {
    /// `nominatim` (OpenStreetMap), `google`, or `none` (points stay PENDING).
    #[arg(long, env = "GEOCODER", value_enum, default_value = "nominatim")]
    pub geocoder: ProviderName,
    /// Provider URL; default: the public Nominatim server, or Google's API.
    #[arg(long, env = "GEOCODER_URL")]
    pub geocoder_url: Option<String>,
    #[arg(long, env = "GEOCODER_API_KEY", hide_env_values = true)]
    pub geocoder_api_key: Option<String>,
    /// Requests per second (forced to at most 1 on the public Nominatim
    /// server); 0 for no limit.
    #[arg(long, env = "GEOCODER_RPS")]
    pub geocoder_rps: Option<f64>,
    #[arg(long, env = "GEOCODER_CONCURRENCY", default_value_t = 4)]
    pub geocoder_concurrency: usize,
    /// Per-request timeout: `5s`, `500ms`, or a number of seconds.
    #[arg(long, env = "GEOCODER_TIMEOUT", default_value = "5s", value_parser = crate::domain::parse_duration)]
    pub geocoder_timeout: Duration,
    /// Contact (e-mail or URL) put in the User-Agent, as Nominatim's usage
    /// policy asks.
    #[arg(long, env = "GEOCODER_CONTACT", default_value = "https://flokon.ca")]
    pub geocoder_contact: String,
    /// The longest an import or a mutation waits for the geocoder, in
    /// milliseconds; what is not located by then stays PENDING.
    #[arg(long, env = "GEOCODER_DEADLINE_MS", default_value_t = 20_000)]
    pub geocoder_deadline_ms: u64,
    /// How often the background worker retries PENDING and FAILED points,
    /// in seconds.
    #[arg(long, env = "GEOCODER_RETRY_SECONDS", default_value_t = 300)]
    pub geocoder_retry_seconds: u64,
    /// Points the background worker claims at a time (smaller spreads the
    /// work across instances).
    #[arg(long, env = "GEOCODER_WORKER_BATCH", default_value_t = 200)]
    pub geocoder_worker_batch: u64,
}

impl Default for GeocoderConfig {
    fn default() -> GeocoderConfig {
        GeocoderConfig {
            geocoder: ProviderName::None,
            geocoder_url: None,
            geocoder_api_key: None,
            geocoder_rps: None,
            geocoder_concurrency: 4,
            geocoder_timeout: Duration::from_secs(5),
            geocoder_contact: "https://flokon.ca".to_owned(),
            geocoder_deadline_ms: 20_000,
            geocoder_retry_seconds: 300,
            geocoder_worker_batch: 200,
        }
    }
}
