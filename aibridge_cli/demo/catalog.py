"""What the demo data set is made of: clients, models, tools, prompts, thoughts, names.

Plain data, kept apart from the generator so the numbers that shape the data set
(proportions, loop lengths, error rates) are easy to find and tune.
"""

from __future__ import annotations

# Client -> (share of interceptions, share of sessions that send a client session key,
#            mean interceptions per agentic loop, mean threads per session).
# Claude Code and Codex send a session key; Cursor and Zed do not, so there every
# thread is its own session. None is a client the bridge did not recognise (NULL,
# as older rows have it); "Unknown" is the column's default.
CLIENTS = {
    "Claude Code": (0.46, 0.92, 7.0, 3.0),
    "Codex": (0.20, 0.85, 6.0, 2.5),
    "Cursor": (0.17, 0.0, 4.0, 2.0),
    "Zed": (0.06, 0.0, 3.0, 1.5),
    None: (0.08, 0.0, 1.6, 1.3),
    "Unknown": (0.03, 0.0, 1.4, 1.2),
}

# Users' activity: the k-th busiest makes traffic in proportion to 1 / k ** USER_SKEW.
USER_SKEW = 0.9

# (provider, model, api, weight, median seconds, thinks)
# api picks the token-usage metadata keys: anthropic, chat (OpenAI chat completions)
# or responses (OpenAI responses).
CLIENT_MODELS = {
    "Claude Code": [
        ("anthropic", "claude-sonnet-4-5-20250929", "anthropic", 0.70, 9.0, 0.55),
        ("anthropic", "claude-opus-4-1-20250805", "anthropic", 0.12, 16.0, 0.70),
        ("anthropic", "claude-sonnet-4-20250514", "anthropic", 0.18, 8.0, 0.40),
    ],
    "Codex": [
        ("openai", "gpt-5-codex", "responses", 0.65, 12.0, 0.75),
        ("openai", "gpt-5", "responses", 0.30, 14.0, 0.75),
        ("openai", "gpt-5-mini", "responses", 0.05, 5.0, 0.50),
    ],
    "Cursor": [
        ("anthropic", "claude-sonnet-4-5-20250929", "anthropic", 0.45, 8.0, 0.35),
        ("openai", "gpt-5", "chat", 0.35, 11.0, 0.50),
        ("openai", "gpt-4.1", "chat", 0.20, 4.0, 0.0),
    ],
    "Zed": [
        ("anthropic", "claude-sonnet-4-5-20250929", "anthropic", 0.80, 8.0, 0.30),
        ("openai", "gpt-4.1", "chat", 0.20, 4.0, 0.0),
    ],
    None: [
        ("openai", "gpt-4.1-mini", "chat", 0.35, 2.5, 0.0),
        ("openai", "o4-mini", "chat", 0.15, 7.0, 0.40),
        ("anthropic", "claude-haiku-4-5-20251001", "anthropic", 0.30, 2.0, 0.0),
        ("anthropic", "claude-sonnet-4-5-20250929", "anthropic", 0.20, 7.0, 0.20),
    ],
    "Unknown": [
        ("openai", "gpt-4.1-mini", "chat", 0.50, 2.5, 0.0),
        ("anthropic", "claude-haiku-4-5-20251001", "anthropic", 0.50, 2.0, 0.0),
    ],
}

# Claude Code also makes small one-shot requests (titles, summaries) with a fast model:
# single-interception threads in the same session.
CLAUDE_CODE_SIDE_MODEL = ("anthropic", "claude-haiku-4-5-20251001", "anthropic", 1.0, 1.2, 0.0)
CLAUDE_CODE_SIDE_SHARE = 0.25

# Client-defined tools, as each client names them, with example JSON arguments.
CLIENT_TOOLS = {
    "Claude Code": [
        ("Read", ['{"file_path": "/home/coder/src/api/server.go"}', '{"file_path": "/home/coder/src/web/package.json"}',
                  '{"file_path": "/home/coder/src/internal/db/queries.sql", "offset": 120, "limit": 80}']),
        ("Edit", ['{"file_path": "/home/coder/src/api/server.go", "old_string": "return nil", "new_string": "return err"}',
                  '{"file_path": "/home/coder/src/web/src/App.tsx", "old_string": "useState(0)", "new_string": "useState(1)"}']),
        ("Bash", ['{"command": "go test ./...", "description": "Run the Go tests"}',
                  '{"command": "git status --short", "description": "Show changed files"}',
                  '{"command": "pnpm lint", "description": "Lint the frontend"}']),
        ("Grep", ['{"pattern": "func NewServer", "path": "/home/coder/src"}',
                  '{"pattern": "TODO\\\\(", "glob": "*.go", "output_mode": "files_with_matches"}']),
        ("Glob", ['{"pattern": "**/*_test.go"}', '{"pattern": "src/**/*.tsx"}']),
        ("Write", ['{"file_path": "/home/coder/src/api/health_test.go", "content": "package api\\n"}']),
        ("TodoWrite", ['{"todos": [{"content": "Fix the flaky test", "status": "in_progress"}]}']),
        ("WebFetch", ['{"url": "https://pkg.go.dev/net/http", "prompt": "How do I set a read timeout?"}']),
        ("Task", ['{"description": "Find callers", "prompt": "Find every caller of NewServer"}']),
    ],
    "Codex": [
        ("shell", ['{"command": ["bash", "-lc", "rg -n \\"NewServer\\" src"]}',
                   '{"command": ["bash", "-lc", "go test ./internal/..."], "timeout_ms": 120000}',
                   '{"command": ["bash", "-lc", "sed -n 1,120p src/api/server.go"]}']),
        ("apply_patch", ['{"input": "*** Begin Patch\\n*** Update File: src/api/server.go\\n@@\\n-\\treturn nil\\n+\\treturn err\\n*** End Patch"}']),
        ("update_plan", ['{"plan": [{"step": "Reproduce the failure", "status": "completed"}]}']),
    ],
    "Cursor": [
        ("read_file", ['{"target_file": "src/api/server.go", "start_line_one_indexed": 1, "end_line_one_indexed": 200}']),
        ("edit_file", ['{"target_file": "src/web/src/App.tsx", "instructions": "Add a loading state"}']),
        ("run_terminal_cmd", ['{"command": "npm test", "is_background": false}']),
        ("codebase_search", ['{"query": "where is the session cookie set"}']),
        ("grep_search", ['{"query": "SESSION_TIMEOUT", "include_pattern": "*.ts"}']),
    ],
    "Zed": [
        ("read_file", ['{"path": "project/src/main.rs"}']),
        ("edit_file", ['{"path": "project/src/lib.rs", "mode": "edit", "display_description": "Handle the empty case"}']),
        ("terminal", ['{"command": "cargo test", "cd": "project"}']),
        ("grep", ['{"regex": "fn parse", "include_pattern": "**/*.rs"}']),
        ("find_path", ['{"glob": "**/Cargo.toml"}']),
    ],
    None: [
        ("get_weather", ['{"city": "Berlin"}']),
        ("search_docs", ['{"query": "rate limits"}']),
        ("run_sql", ['{"query": "select count(*) from orders"}']),
    ],
}
CLIENT_TOOLS["Unknown"] = CLIENT_TOOLS[None]
# How often each client tool is called, relative to the others of its client (default 10).
TOOL_WEIGHTS = {
    "Read": 30, "Bash": 22, "Edit": 18, "Grep": 10, "Glob": 6, "TodoWrite": 6, "Write": 4, "WebFetch": 2, "Task": 2,
    "shell": 70, "apply_patch": 22, "update_plan": 8,
    "read_file": 30, "edit_file": 24, "run_terminal_cmd": 16, "codebase_search": 12, "grep_search": 10,
    "terminal": 16, "grep": 10, "find_path": 6,
}

# Tools the bridge injects from MCP servers (server URL, tool, example arguments) and
# the errors their invocations fail with.
INJECTED_TOOLS = [
    ("https://coder.example.com/api/experimental/mcp/http", "coder_list_workspaces", '{"owner": "me"}'),
    ("https://coder.example.com/api/experimental/mcp/http", "coder_get_workspace", '{"workspace_id": "dev"}'),
    ("https://coder.example.com/api/experimental/mcp/http", "coder_workspace_bash", '{"workspace": "dev", "command": "uptime"}'),
    ("https://api.githubcopilot.com/mcp/", "github_search_issues", '{"q": "is:open label:bug repo:acme/api"}'),
    ("https://api.githubcopilot.com/mcp/", "github_get_pull_request", '{"owner": "acme", "repo": "api", "pullNumber": 1423}'),
    ("https://api.githubcopilot.com/mcp/", "github_create_pull_request", '{"owner": "acme", "repo": "api", "title": "Fix timeout", "head": "fix-timeout", "base": "main"}'),
    ("https://mcp.linear.app/mcp", "linear_get_issue", '{"id": "ENG-2317"}'),
    ("https://mcp.linear.app/mcp", "linear_list_issues", '{"assignee": "me", "state": "In Progress"}'),
]
INJECTED_ERRORS = [
    "context deadline exceeded",
    "calling tool: 401 Unauthorized: token expired",
    "calling tool: 404 Not Found",
    "calling tool: 502 Bad Gateway",
    "workspace \"dev\" is not running",
    "invalid arguments: missing required field \"owner\"",
]
INJECTED_ERROR_RATE = 0.09

# The prompt that starts a task, a user's follow-up inside a loop, and the one-shot
# requests of side threads.
TASK_PROMPTS = [
    "Why does the login test fail on CI but pass locally?",
    "Add pagination to the /api/v2/orders endpoint.",
    "Refactor the config loader so it reads environment variables first.",
    "Write unit tests for the rate limiter.",
    "The build is broken after the dependency bump, can you fix it?",
    "Explain what this function does and whether it can deadlock.",
    "Rename UserService to AccountService everywhere.",
    "Add a loading spinner to the settings page.",
    "Find out why memory grows when the importer runs for an hour.",
    "Migrate this component from class to function components.",
    "Make the CSV export stream instead of building the file in memory.",
    "Add a --dry-run flag to the cleanup command.",
    "Can you review this diff for security problems?",
    "Update the README with the new install steps.",
    "Port the retry logic from the Go client to the TypeScript client.",
    "Why is this query slow? Here is the EXPLAIN output:\n\nSeq Scan on orders  (cost=0.00..48214.00 rows=12 width=64)\n  Filter: (customer_id = 42)",
    "Add structured logging to the webhook handler.",
    "Fix the flaky test in scheduler_test.go.",
    "Generate a migration that adds an index on orders(customer_id, created_at).",
    "The deploy job fails with:\n\tError: ENOSPC: no space left on device\nWhat is filling the disk?",
]
FOLLOWUP_PROMPTS = [
    "yes, go ahead",
    "continue",
    "Looks good. Now run the tests again.",
    "No, keep the old behaviour for admins.",
    "Use the existing helper instead of writing a new one.",
    "Stop, that file is generated. Edit the template instead.",
]
SIDE_PROMPTS = [
    "Generate a concise title for this conversation.",
    "Write a short commit message for these changes.",
    "Summarise the conversation so far in three sentences.",
]

THOUGHTS = [
    "The failure only happens under -race, so this is likely a data race on the shared map.",
    "I should read the handler first before changing the router.",
    "The user wants pagination; the existing code uses offset, but a cursor would scale better.",
    "Tests pass now. I will also check the lint step, since CI runs it.",
    "This needs a migration; I will check the naming convention of the existing files.",
    "The stack trace points at the JSON decoder: the payload has a trailing comma.",
    "Two call sites pass a nil context; fixing the constructor covers both.",
    "Let me search for other uses of the deprecated helper before removing it.",
    "I will keep the public API unchanged and add the option behind a flag.",
    "The slow part is the sequential scan on orders; an index on (customer_id, created_at) fits the filter and the order.",
]

FIRST_NAMES = [
    "Alice", "Ben", "Chen", "Dana", "Elif", "Farah", "Gabriel", "Hana", "Ivan", "Jonas", "Kemi", "Lucas",
    "Maya", "Nikhil", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Victor", "Wen", "Ximena",
    "Yusuf", "Zoe", "Amara", "Bruno", "Chloe", "Diego", "Emma", "Felix", "Grace", "Hugo", "Ines", "Jamal",
]
LAST_NAMES = [
    "Nguyen", "Smith", "Garcia", "Okafor", "Kowalski", "Tanaka", "Müller", "Rossi", "Silva", "Haddad",
    "Johansson", "Patel", "Kim", "Dubois", "Novak", "Andersen", "Costa", "Yilmaz", "Levi", "Murphy",
    "Ivanova", "Chen", "Mensah", "Schmidt", "Fernandez", "Sato", "O'Brien", "Ahmed", "Park", "Lopez",
]
EMAIL_DOMAIN = "example.com"

# A weekday's share of activity by local hour: nights quiet, working hours busy.
HOURS = [0.04, 0.02, 0.02, 0.02, 0.03, 0.05, 0.12, 0.30, 0.65, 0.95, 1.0, 1.0,
         0.75, 0.90, 1.0, 1.0, 0.95, 0.80, 0.55, 0.35, 0.30, 0.25, 0.15, 0.08]
WEEKEND = 0.22
TIMEZONES = [-8.0, -7.0, -5.0, -4.0, -3.0, 0.0, 1.0, 1.0, 2.0, 3.0, 5.5, 8.0, 9.0, 10.0]

# Rare things, per interception unless said otherwise.
ABANDONED = 0.0004          # never ended: the client went away mid-stream
FOLLOWUP = 0.08             # the user typed something inside an agentic loop
INJECTED = 0.10             # the bridge called MCP tools during the request
NULL_METADATA = 0.03        # older rows without metadata (per row)
NO_API_KEY = 0.05           # per session
INFLIGHT_SESSIONS_PER = 2500  # one session still running at the end per this many interceptions
