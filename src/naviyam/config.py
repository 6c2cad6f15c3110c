"""One settings object for the whole service (``NAVIYAM_*`` env vars or ``.env``).

Nothing else in the package reads ``os.environ``; everything asks
:func:`get_settings`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Project-local folder for runtime state (database file, models, exports).
DEFAULT_VAR_DIR = Path("var")


class Settings(BaseSettings):
    """Service settings. Each field documents itself; the README lists them."""

    model_config = SettingsConfigDict(env_prefix="NAVIYAM_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        "development", description="development, test or production; production refuses unsafe defaults."
    )
    var_dir: Path = Field(DEFAULT_VAR_DIR, description="Folder for the SQLite file, models and exports.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL. Empty: a SQLite file var/naviyam.db (WAL mode). "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db.",
    )
    host: str = Field("127.0.0.1", description="Address the API server binds to.")
    port: int = Field(8000, description="Port the API server listens on.")
    admin_api_key: str = Field(
        "changethis", description="Key for admin routes (X-API-Key header). Must be changed in production."
    )
    workbook: Path | None = Field(
        None,
        description="The operator's workbook (.xlsx or CSV folder) that `make run`/`naviyam setup` imports into an "
        "empty database instead of generating the sample world.",
    )
    sample_seed: int = Field(42, description="Seed of the sample world that `make run` generates into an empty database.")
    sample_shops: int = Field(1500, description="Number of shops in the generated sample world.")
    sample_users: int = Field(6000, description="Number of users in the generated sample world.")
    sample_days: int = Field(180, description="Days of order/favourite/review history in the sample world.")
    nlu_train_examples: int = Field(16000, description="Generated NLU training sentences when `make run` trains the NLU.")
    nlu_epochs: int = Field(
        5, description="Training passes of the NLU tagger when `make run` trains it (10 * epochs CRF iterations; "
                       "5 scores as 10 on the held-out sets at two thirds of the time).")
    ranker_epochs: int = Field(10, description="Maximum epochs of the ranker when `make run` trains it.")
    timezone: str = Field("Asia/Seoul", description="Time zone of shop hours and of 'now' (IANA name).")
    clock: str | None = Field(
        None,
        description="Pin the service's clock to an ISO instant (e.g. 2026-11-27T19:00:00+09:00); it runs on from "
        "there. Empty: the real clock. For tests and demos at a chosen hour.",
    )
    log_level: str = Field("INFO", description="Python logging level.")
    ab_share: float = Field(
        0.0, ge=0.0, le=1.0,
        description="Share of users (0-1, stable by user-id hash) served by the newest candidate ranker (online A/B).",
    )
    ab_salt: str = Field("naviyam-ab", description="Salt of the A/B arm hash; a new salt reshuffles the users.")
    ab_alpha: float = Field(
        0.05, gt=0.0, lt=0.5, description="Significance level of the online A/B test (two-sided, per-user Welch test).")
    ab_power: float = Field(
        0.8, gt=0.0, lt=1.0, description="Power the A/B test's planned sample is sized for.")
    ab_mde: float = Field(
        0.02, gt=0.0, le=1.0,
        description="Minimum detectable effect of the A/B test: the absolute difference of per-user CTR the "
        "planned sample is sized to detect.",
    )
    ab_min_users: int = Field(
        100, ge=2, description="Fewest users per arm before the A/B report gives a verdict, whatever the plan says.")
    promotion_margin: float = Field(
        0.005, description="How much a candidate must beat production on the offline comparison to be promoted.")
    max_ranker_latency_ms: float = Field(
        50.0, description="Sanity check before promotion: most milliseconds a ranker may take for 100 candidates.")
    max_nlu_latency_ms: float = Field(
        200.0, description="Sanity check before promotion: most milliseconds an NLU model may take per message.")
    reload_interval_s: float = Field(
        30.0, description="How often the server checks the registry for newly promoted models (hot swap).")
    state_reload_s: float = Field(
        3600.0, ge=0,
        description="Least seconds between two reloads of the interaction counts the ranker's features read "
                    "(orders, favourites, reviews, the users' chat feedback) by a registry check that finds new "
                    "events; `naviyam learn`'s hot reload and POST /admin/reload read them at once. 0: only then.")
    alert_webhook_url: str | None = Field(
        None, description="Optional URL that receives every monitoring alert as a JSON POST.")
    request_concurrency: int | None = Field(
        None, ge=0,
        description="Most chat turns and recommendation requests one worker computes at once (and, apart from "
                    "them, most other requests: shops, feedback); the rest wait in line in arrival order. Unset: "
                    "1 on SQLite (one at a time finishes sooner than several trading one interpreter lock), 2 on "
                    "another database (a second turn computes while the first waits for the database server's "
                    "answers). One spare thread takes the next turn while a turn's new query is embedded outside "
                    "the interpreter lock. 0: no limit (40 threads).",
    )
    query_cache_warm: int = Field(
        1000, ge=0,
        description="At start, each worker embeds in the background up to this many of the most frequent semantic "
                    "queries of the last 30 days' logged turns (never a minimised turn), so a restart does not "
                    "start with an empty query cache. 0: off.",
    )
    gc_freeze: bool = Field(
        True,
        description="Each worker freezes the objects alive once its models are loaded, and again after every model "
                    "swap, so that the garbage collector's full passes walk only newer objects (no 110-140 ms "
                    "pauses every few thousand turns).",
    )
    math_threads: int = Field(
        1, ge=1, le=64,
        description="Threads each request may use in the math libraries (torch, OpenBLAS, OpenMP/FAISS) while "
                    "serving; requests already run side by side, so 1 keeps them from fighting over the cores.",
    )
    redis_url: str | None = Field(
        None,
        description="Redis URL (redis://host:6379/0) for state shared by all workers (rate limits). Empty: "
        "per-process state; when Redis is down the service falls back to per-process state with a warning.",
    )
    rate_limit_per_minute_user: int = Field(
        30, ge=0, description="Requests per minute one user (user_id) may make; 0 turns the limit off."
    )
    rate_limit_per_minute_ip: int = Field(
        300, ge=0, description="Requests per minute one client address may make (schools share one); 0: off."
    )
    rate_limit_strategy: Literal["sliding", "fixed"] = Field(
        "sliding", description="Rate-limit window: sliding (last 60 s) or fixed (calendar minute)."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins allowed to call the API from a browser; empty: no cross-origin.",
    )
    meal_card_per_meal: int = Field(
        9000, ge=1000, le=100000,
        description="The meal card's amount per meal (원) for a 구 without a row in the meal_card_limit table.",
    )
    closing_soon_minutes: int = Field(
        30, ge=0, le=180, description="A shop closing within this many minutes is marked '곧 문 닫아요'.",
    )
    balanced_meal_min_meals: int = Field(
        3, ge=0, le=50,
        description="Meals of one kind (분식, 패스트푸드, 치킨 …) in the last 7 days before places with rice, soup "
                    "or vegetables are gently moved up for that user (0 turns the nudge off).",
    )
    balanced_meal_boost: int = Field(
        4, ge=0, le=20, description="How many places such a balanced shop moves up in the list.",
    )
    retention_days: int = Field(
        180, ge=0, description="Days conversations and feedback are kept; `naviyam maintenance retention` "
        "deletes older ones (0 keeps them forever).",
    )
    privacy_contact: str = Field(
        "", max_length=300,
        description="Who children and guardians ask about their data, shown on the /privacy page "
                    "(e.g. '개인정보 보호 담당자 02-123-4567, privacy@example.kr'); empty: the operator in general.",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, v):
        if isinstance(v, str):
            return [o.strip() for o in v.split(",") if o.strip()]
        return v

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.environment == "production" and self.admin_api_key in {"", "changethis"}:
            raise ValueError("NAVIYAM_ADMIN_API_KEY must be set to a real secret in production")
        return self

    # -------------------------------------------------- the optional LLM path (off by default; see LLMSettings)
    llm_enabled: bool = Field(False, description="Use the LLM for NLU and answers (the trained NLU and the template "
                                                 "answers remain the fallback).")
    llm_model_path: Path | None = Field(None, description="Local folder of a Hugging Face causal LM "
                                                          "(e.g. a downloaded A.X-3.1-Light). Nothing is downloaded.")
    llm_adapter_path: Path | None = Field(None, description="Optional PEFT LoRA adapter folder applied on top of "
                                                            "llm_model_path. Empty: the registry's production lora.")
    llm_use_registry_adapter: bool = Field(True, description="When llm_adapter_path is empty, load the production "
                                                             "`lora` version from the model registry if there is one.")
    llm_device: str = Field("auto", description="auto (GPU when available), cpu, cuda or cuda:N.")
    llm_dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Weights dtype: auto = bfloat16 on GPU, float32 on CPU.")
    llm_load_in_4bit: bool = Field(True, description="Load 4-bit (NF4) weights when a GPU is present and "
                                                     "bitsandbytes is installed; ignored otherwise.")
    llm_max_new_tokens: int = Field(160, ge=8, le=2048, description="Token budget of one generation.")
    llm_timeout_s: float = Field(8.0, gt=0, description="Wall-clock budget of one generation (seconds); past it "
                                                        "the trained NLU / the template answer is used.")
    llm_nlu: bool = Field(True, description="Use the LLM for understanding messages (when enabled).")
    llm_answers: bool = Field(True, description="Use the LLM for grounded answer text (when enabled).")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'naviyam.db').as_posix()}"

    @property
    def compute_threads(self) -> int:
        """``request_concurrency``, or when unset 1 on SQLite and 2 on a database server (0: no limit)."""
        if self.request_concurrency is not None:
            return self.request_concurrency
        return 1 if self.resolved_database_url.startswith("sqlite") else 2

    @property
    def models_dir(self) -> Path:
        return self.var_dir / "models"

    @property
    def llm(self) -> LLMSettings:
        """The ``llm_*`` settings as the LLM path reads them."""
        return LLMSettings(**{name: getattr(self, f"llm_{name}") for name in LLMSettings.model_fields})


class LLMSettings(BaseModel):
    """Where the local causal LM lives and how it may be used (``NAVIYAM_LLM_*``; the README lists them)."""

    enabled: bool = False
    model_path: Path | None = None
    adapter_path: Path | None = None
    use_registry_adapter: bool = True
    device: str = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    load_in_4bit: bool = True
    max_new_tokens: int = Field(160, ge=8, le=2048)
    timeout_s: float = Field(8.0, gt=0)
    nlu: bool = True
    answers: bool = True


@lru_cache
def get_settings() -> Settings:
    return Settings()
