"""The demo data generator: realistic AI Bridge records as COPY text, in chunks.

Deterministic: the same seed, size and end time give byte-identical text (ids included),
because every random choice comes from one `random.Random(seed)` consumed in a fixed order.
Rows are formatted straight into PostgreSQL's COPY text format (tab-separated, `\\N` for
NULL), since building Python objects per value would make a million interceptions take
minutes. See catalog.py for the shape of the data.
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import accumulate
from typing import Iterator, Optional

from aibridge_cli.db.copy_format import COPY_COLUMNS, NULL
from aibridge_cli.db.copy_format import esc as copy_escape
from aibridge_cli.demo import catalog as cat
from aibridge_cli.demo.randomness import FastRandom, ascii_slug

TABLES = ("users", "aibridge_interceptions", "aibridge_token_usages", "aibridge_user_prompts",
          "aibridge_tool_usages", "aibridge_model_thoughts")

# The column order every line below is written in (bulk.sql's COPY statements agree).
COLUMNS = COPY_COLUMNS

DAY = 86400.0

SCRIPT_CLIENTS = (None, "Unknown")

_SOURCE = {s: f'{{"source": "{s}"}}' for s in ("thinking", "reasoning_summary", "commentary")}


def default_users(interceptions: int) -> int:
    """A user count that grows more slowly than traffic: ~50 for 5,000, ~700 for 1,000,000."""
    return max(3, min(5000, round(math.sqrt(interceptions) * 0.7)))


@dataclass
class _User:
    id: str
    client: Optional[str]
    tz: float
    api_keys: list


@dataclass
class Chunk:
    """COPY text per table (empty tables left out), with the row counts."""
    interceptions: int
    text: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)


class DemoData:
    """Generates `interceptions` interceptions (exactly) and their users and child rows."""

    def __init__(self, interceptions: int, seed: int, *, users: Optional[int] = None,
                 days: float = 30.0, end: Optional[datetime] = None):
        self.n = interceptions
        self.seed = seed
        self.n_users = users if users is not None else default_users(interceptions)
        self.days = days
        end = end or datetime.now(timezone.utc)
        self.end = end.timestamp()
        self.start = self.end - days * DAY
        self.rng = random.Random(seed)
        self.r = FastRandom(self.rng)
        self._catalog()
        self.users: list[_User] = []
        self._make_users()

    # --- catalog, prepared once --------------------------------------------
    def _catalog(self) -> None:
        e = copy_escape
        # Sessions are drawn per client in proportion to its share of interceptions over the
        # interceptions a session of that client has on average. Scripts (no client the
        # bridge recognises) make many small sessions of anyone; the coding agents make the
        # rest, mostly each user's own favourite.
        weight = {c: share / (loop * threads) for c, (share, _, loop, threads) in cat.CLIENTS.items()}
        self.agents = [c for c in cat.CLIENTS if c not in SCRIPT_CLIENTS]
        self.agent_cum = list(accumulate(weight[c] for c in self.agents))
        self.script_cum = list(accumulate(weight[c] for c in SCRIPT_CLIENTS))
        self.script_share = self.script_cum[-1] / sum(weight.values())
        self.models = {c: [(p, m, api, med, th) for p, m, api, _, med, th in ms] for c, ms in cat.CLIENT_MODELS.items()}
        self.model_cum = {c: list(accumulate(w for *_, w, _, _ in ms)) for c, ms in cat.CLIENT_MODELS.items()}
        p, m, api, _, med, th = cat.CLAUDE_CODE_SIDE_MODEL
        self.side_model = (p, m, api, med, th)
        # Repeated by weight, so picking one stays a single index.
        self.tools = {c: [(e(name), [e(a) for a in args]) for name, args in ts
                          for _ in range(cat.TOOL_WEIGHTS.get(name, 10))] for c, ts in cat.CLIENT_TOOLS.items()}
        self.injected = [(e(u), e(t), e(a)) for u, t, a in cat.INJECTED_TOOLS]
        self.errors = [e(x) for x in cat.INJECTED_ERRORS]
        self.task_prompts = [e(x) for x in cat.TASK_PROMPTS]
        self.followups = [e(x) for x in cat.FOLLOWUP_PROMPTS]
        self.side_prompts = [e(x) for x in cat.SIDE_PROMPTS]
        self.thoughts = [e(x) for x in cat.THOUGHTS]

    # --- users ---------------------------------------------------------------
    def _make_users(self) -> None:
        rng, r = self.rng, self.r
        n = self.n_users
        self._user_rows = []
        seen = set()
        # Skewed activity: Zipf-like weights over a shuffled order, so a few users make
        # most of the traffic and a long tail makes a little.
        ranks = list(range(n))
        rng.shuffle(ranks)
        weights = [1.0 / (k + 1) ** cat.USER_SKEW for k in ranks]
        tail = sorted(range(2, n), key=lambda i: -ranks[i])  # least active first; 0 and 1 are admins
        # Every initiator has a users row: the embedded database has the deployment's foreign key
        # from initiator_id to users since the 2026-08 layout (sql/schema/0004).
        deleted = {tail[0]} if n >= 30 else set()
        for i in range(n):
            first, last = rng.choice(cat.FIRST_NAMES), rng.choice(cat.LAST_NAMES)
            base = f"{ascii_slug(first)}-{ascii_slug(last)}"
            username, k = base, 1
            while username in seen:
                k += 1
                username = f"{base}{k}"
            seen.add(username)
            uid = r.uuid()
            roles = "{owner}" if i == 0 else "{auditor}" if i == 1 else "{owner}" if i % 97 == 50 else "{}"
            avatar = f"https://avatars.githubusercontent.com/u/{rng.randint(10_000, 99_999_999)}?v=4" if rng.random() < 0.6 else ""
            created = self.end - rng.uniform(self.days + 10, 720) * DAY
            updated = min(self.end - 60, created + rng.uniform(0, 300) * DAY)
            email = f"{ascii_slug(first)}.{username.split('-', 1)[1]}@{cat.EMAIL_DOMAIN}"
            client = self.agents[bisect(self.agent_cum, rng.random() * self.agent_cum[-1])]
            keys = [r.alnum(10).lower() for _ in range(1 + (rng.random() < 0.3))]
            self.users.append(_User(uid, client, rng.choice(cat.TIMEZONES), keys))
            self._user_rows.append((uid, username, first + " " + last, avatar, email, roles,
                                    "t" if i in deleted else "f", r.ts(created), r.ts(updated)))
        self.user_cum = list(accumulate(weights))
        self._weights = dict(zip((u.id for u in self.users), weights))
        self._final_names: dict[str, str] = {}

    @property
    def user_ids(self) -> list[str]:
        """The ids of the users rows this data set creates."""
        return [row[0] for row in self._user_rows]

    @property
    def usernames(self) -> list[str]:
        """The usernames as they will be loaded (see avoid_usernames)."""
        return [self._final_names.get(row[0], row[1]) for row in self._user_rows]

    def avoid_usernames(self, taken: set) -> None:
        """Rename users whose username an existing user has: `name-2`, `name-3`, ..."""
        used = set(taken)
        for row in self._user_rows:
            uid, base = row[0], row[1]
            username, k = base, 1
            while username in used:
                k += 1
                username = f"{base}-{k}"
            used.add(username)
            self._final_names[uid] = username

    def users_text(self) -> str:
        """COPY text for the users rows."""
        return "".join(
            f"{uid}\t{copy_escape(self._final_names.get(uid, username))}\t{copy_escape(name)}\t{avatar}\t"
            f"{copy_escape(email)}\t{roles}\t{deleted}\t{created}\t{updated}\n"
            for uid, username, name, avatar, email, roles, deleted, created, updated in self._user_rows)

    def busiest_username(self, member: bool = False, other_than: Optional[str] = None) -> Optional[str]:
        """The most active listed user (member=True: one without a site role), as loaded."""
        names = dict(zip(self.user_ids, self.usernames))
        rows = [row for row in self._user_rows
                if row[6] == "f" and (not member or row[5] == "{}") and names[row[0]] != other_than]
        if not rows:
            return None
        return names[max(rows, key=lambda row: self._weights[row[0]])[0]]

    # --- interceptions ----------------------------------------------------------
    def chunks(self, size: int = 10_000) -> Iterator[Chunk]:
        """The data in chunks of about `size` interceptions (whole sessions per chunk).

        Sessions come out in order of their start, as a deployment's tables fill up over
        time, so the tables' physical order follows time as it would on a real one.
        """
        plans = self._plan()
        self._produced = 0
        todo = iter(plans)
        while self._produced < self.n:
            self._out = {t: [] for t in TABLES[1:]}
            begin = self._produced
            while self._produced < self.n and self._produced - begin < size:
                plan = next(todo, None)
                if plan is None:
                    # Requests cut off by the end of the time window left a few short:
                    # make them up with sessions that end well before it.
                    plan = self._plan_session(self.n - self._produced, latest=self.end - min(DAY, self.days * DAY / 2))
                self._session(*plan)
            chunk = Chunk(self._produced - begin)
            for table, lines in self._out.items():
                if lines:
                    chunk.text[table] = "".join(lines)
                    chunk.rows[table] = len(lines)
            yield chunk

    def _plan(self) -> list:
        """Every session's user, client, start and loop lengths, summing to exactly n."""
        plans, planned = [], 0
        running = max(1, self.n // cat.INFLIGHT_SESSIONS_PER)
        while planned < self.n:
            plan = self._plan_session(self.n - planned, running=running > 0)
            running -= 1
            planned += sum(length for length, _ in plan[3])
            plans.append(plan)
        plans.sort(key=lambda p: p[0])
        return plans

    def _plan_session(self, budget: int, running: bool = False, latest: Optional[float] = None) -> tuple:
        rng = self.rng
        rnd = rng.random
        user = self.users[bisect(self.user_cum, rnd() * self.user_cum[-1])]
        if rnd() < self.script_share:
            client = SCRIPT_CLIENTS[bisect(self.script_cum, rnd() * self.script_cum[-1])]
        elif rnd() < 0.8:
            client = user.client
        else:
            client = self.agents[bisect(self.agent_cum, rnd() * self.agent_cum[-1])]
        _, _, loop_mean, threads_mean = cat.CLIENTS[client]
        # A running session started minutes ago and is still inside its last request.
        n_threads = 1 if running else 1 + int(rng.expovariate(1.0 / max(threads_mean - 1, 0.01)))
        start = self.end - rng.uniform(20, 900) if running else self._session_start(user, latest or self.end)
        threads = []
        for k in range(n_threads):
            if budget <= 0:
                break
            side = client == "Claude Code" and k > 0 and rnd() < cat.CLAUDE_CODE_SIDE_SHARE
            length = 1 if side else min(120, 1 + int(rng.expovariate(1.0 / max(loop_mean - 1, 0.01))))
            length = min(length, budget)
            budget -= length
            threads.append((length, side))
        return start, user, client, threads, running

    def _session_start(self, user: _User, latest: float) -> float:
        rng = self.rng
        while True:
            t = rng.uniform(self.start, latest)
            local = t + user.tz * 3600
            weekday = int(local // DAY + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
            w = cat.HOURS[int(local % DAY // 3600)] * (cat.WEEKEND if weekday >= 5 else 1.0)
            if rng.random() < w:
                return t

    def _session(self, t: float, user: _User, client, threads: list, running: bool) -> None:
        """One user's working session: several threads, each an agentic loop."""
        rng = self.rng
        rnd = rng.random
        key_share = cat.CLIENTS[client][1]
        session_key = self.r.uuid() if rnd() < key_share else None
        cum = self.model_cum[client]
        model = self.models[client][bisect(cum, rnd() * cum[-1])]
        api_key = NULL if rnd() < cat.NO_API_KEY else rng.choice(user.api_keys)
        for k, (length, side) in enumerate(threads):
            if t >= self.end:
                return
            if side:
                m = self.side_model
            else:
                m = model if rnd() < 0.9 else self.models[client][bisect(cum, rnd() * cum[-1])]
            t = self._thread(user, client, session_key, api_key, m, length, t, side,
                             running and k == len(threads) - 1)
            t += math.exp(rng.gauss(4.5, 1.2))  # the user reads, thinks, types: median ~90 s

    def _thread(self, user: _User, client, session_key, api_key, model, length: int, t: float,
                side: bool, running: bool) -> float:
        """An agentic loop: a root request, then one child per answered tool call."""
        rng, r, out = self.rng, self.r, self._out
        rnd, gauss, exp, uuid, ts = rng.random, rng.gauss, math.exp, r.uuid, r.ts
        provider, model_name, api, median, thinks = model
        mu = math.log(median)
        icpt, toks, prompts, tools, thoughts = (out["aibridge_interceptions"], out["aibridge_token_usages"],
                                                out["aibridge_user_prompts"], out["aibridge_tool_usages"],
                                                out["aibridge_model_thoughts"])
        client_text = NULL if client is None else client
        key_text = NULL if session_key is None else session_key
        tool_set = self.tools[client]
        base_context = math.log(16000 if client in ("Claude Code", "Codex") else 6000)
        root = parent = None
        for k in range(length):
            if t >= self.end:
                break
            if parent is None:
                context = exp(gauss(base_context, 0.4))
            iid = uuid()
            dur = exp(gauss(mu, 0.75))
            ended = t + dur
            last = k == length - 1
            abandoned = rnd() < cat.ABANDONED
            in_flight = ended >= self.end or (running and last) or abandoned
            resp = self._response_id(api)
            if parent is None or rnd() < cat.FOLLOWUP:
                text = (self.side_prompts[int(rnd() * len(self.side_prompts))] if side else self.task_prompts[int(rnd() * len(self.task_prompts))] if parent is None
                        else self.followups[int(rnd() * len(self.followups))])
                prompts.append(f"{uuid()}\t{iid}\t{resp}\t{text}\t{NULL if rnd() < cat.NULL_METADATA else '{}'}\t"
                               f"{ts(t + 0.002)}\n")
            meta = NULL if rnd() < cat.NULL_METADATA else "{}"
            icpt.append(f"{iid}\t{user.id}\t{provider}\t{model_name}\t{ts(t)}\t{meta}\t"
                        f"{NULL if in_flight else ts(ended)}\t{api_key}\t{client_text}\t"
                        f"{NULL if parent is None else parent}\t{NULL if root is None else root}\t{key_text}\n")
            self._produced += 1
            if in_flight:
                if not abandoned:
                    break
                # The client gave up on this request; the user starts over in a new thread.
                root = parent = None
                t += rng.uniform(60, 600)
                continue
            context += exp(gauss(7.0, 0.9))  # tool results and answers grow the conversation
            # Injected tools: the bridge calls its MCP servers and asks the model again,
            # so the request has a second upstream response (and token usage row).
            responses = [resp]
            if rnd() < cat.INJECTED:
                for _ in range(1 + (rnd() < 0.35)):
                    url, tool, args = self.injected[int(rnd() * len(self.injected))]
                    err = self.errors[int(rnd() * len(self.errors))] if rnd() < cat.INJECTED_ERROR_RATE else NULL
                    tools.append(f"{uuid()}\t{iid}\t{resp}\t{url}\t{tool}\t{args}\tt\t{err}\t"
                                 f"{NULL if rnd() < cat.NULL_METADATA else '{}'}\t{ts(t + dur * 0.4)}\t"
                                 f"{self._call_id(api)}\n")
                responses.append(self._response_id(api))
            for i, rid in enumerate(responses):
                toks.append(self._token_usage(iid, rid, api, context, thinks, t + dur * (0.45 + 0.5 * i)))
            if thinks and rnd() < thinks:
                for j in range(1 + (rnd() < 0.6)):
                    src = ("thinking" if api == "anthropic" else
                           "reasoning_summary" if rnd() < 0.85 else "commentary")
                    thoughts.append(f"{iid}\t{self.thoughts[int(rnd() * len(self.thoughts))]}\t"
                                    f"{NULL if rnd() < cat.NULL_METADATA else _SOURCE[src]}\t"
                                    f"{ts(t + dur * (0.1 + 0.1 * j))}\n")
            if not last:
                # Client tools: the client runs them and its next request answers the
                # calls; that request's parent is this interception (lineage by call id).
                rid = responses[-1]
                for _ in range(1 + int(rng.expovariate(0.9))):  # often several at once
                    name, examples = tool_set[int(rnd() * len(tool_set))]
                    tools.append(f"{uuid()}\t{iid}\t{rid}\t{NULL}\t{name}\t{examples[int(rnd() * len(examples))]}\tf\t{NULL}\t"
                                 f"{NULL if rnd() < cat.NULL_METADATA else '{}'}\t{ts(ended - 0.05)}\t"
                                 f"{self._call_id(api)}\n")
                parent = iid
                if root is None:
                    root = iid
                t = ended + exp(gauss(0.7, 1.0))  # the client runs the tool: median ~2 s
            else:
                t = ended
        return t

    def _response_id(self, api: str) -> str:
        if api == "anthropic":
            return "msg_01" + self.r.alnum(22)
        if api == "responses":
            return "resp_" + self.r.hex(48)
        return "chatcmpl-" + self.r.alnum(29)

    def _call_id(self, api: str) -> str:
        return ("toolu_01" + self.r.alnum(22)) if api == "anthropic" else ("call_" + self.r.alnum(24))

    def _token_usage(self, iid: str, rid: str, api: str, context: float, thinks: float, at: float) -> str:
        rng = self.rng
        rnd = rng.random
        ctx = int(context)
        output = min(32000, 1 + int(math.exp(rng.gauss(5.3, 1.0))))
        if rnd() < cat.NULL_METADATA:
            meta, inp = NULL, ctx
        elif api == "anthropic":
            if rnd() < 0.85:  # prompt caching hit: almost all input is read from the cache
                write = int(math.exp(rng.gauss(7.0, 1.1)))
                read, inp = max(0, ctx - write), rng.randint(1, 40)
            else:
                write, read, inp = (ctx if rnd() < 0.5 else 0), 0, (ctx if rnd() < 0.5 else rng.randint(1, 40))
            one_hour = write if rnd() < 0.1 else 0
            searches = rng.randint(1, 3) if rnd() < 0.02 else 0
            meta = (f'{{"cache_creation_input": {write}, "cache_ephemeral_1h_input": {one_hour}, '
                    f'"cache_ephemeral_5m_input": {write - one_hour}, "cache_read_input": {read}, '
                    f'"web_search_requests": {searches}}}')
        else:
            inp = ctx
            cached = int(ctx * rng.uniform(0.5, 0.97)) // 128 * 128 if ctx > 1024 and rnd() < 0.75 else 0
            reasoning = int(math.exp(rng.gauss(5.5, 1.0))) if thinks else 0
            output += reasoning
            if api == "responses":
                meta = (f'{{"input_cached": {cached}, "output_reasoning": {reasoning}, '
                        f'"total_tokens": {inp + output}}}')
            else:
                meta = (f'{{"completion_accepted_prediction": 0, "completion_audio": 0, '
                        f'"completion_reasoning": {reasoning}, "completion_rejected_prediction": 0, '
                        f'"prompt_audio": 0, "prompt_cached": {cached}}}')
        return f"{self.r.uuid()}\t{iid}\t{rid}\t{inp}\t{output}\t{meta}\t{self.r.ts(at)}\n"
