// The starter configs of `init --preset`: one for each kind of log an agent already writes
// (DESIGN.md "Sources"), each quiet on a machine where that log exists (status OK), and
// `cost-control`, the app built on the Cost Control tracker (watchdog.example.yaml, what `init`
// writes without a preset).

export const PRESETS = ['claude-code', 'otel-genai', 'litellm', 'cost-control'] as const;
export type Preset = (typeof PRESETS)[number];

export function isPreset(name: string): name is Preset {
  return (PRESETS as readonly string[]).includes(name);
}

const HEADER = `# cost-watchdog configuration. Check it with: cost-watchdog validate -c <this file>
# Relative paths resolve against this file's folder; a leading ~/ is your home folder.
# Durations: 30s, 15m, 1h. Reference: docs/configuration.md
`;

const COMMON = `# The watchdog's own files: checkpoint, heartbeat, audit log, lock.
state_dir: .cost-watchdog

# The zone of the \`daily\` window's calendar day (IANA name).
timezone: UTC

# Which cost counts: reported (the logged cost), estimated (from tokens and the price table of
# @pydantic/genai-prices, never fetched over the network), or max (the larger of the two).
# Cache reads and writes are priced at their own rates (Anthropic: writes 1.25x input for 5
# minutes, 2x for an hour; reads 0.1x).
cost:
  policy: max
  # Tokens of a model with no price and no logged cost count at this (never $0 in silence).
  unpriced_per_million_tokens: 75

# Slack incoming webhook: the URL comes from this environment variable (never written here).
slack:
  webhook_url_env: SLACK_WEBHOOK_URL

# Alert when the last completed check is older than this (\`cost-watchdog check-heartbeat\`).
heartbeat:
  max_age: 5m
`;

const CLAUDE_CODE = `${HEADER}
# Claude Code (and the Claude Agent SDK) writes every session as JSONL under
# ~/.claude/projects/<project>/<session>.jsonl; assistant turns carry the API's token usage.
# If you set CLAUDE_CONFIG_DIR, Claude Code writes under $CLAUDE_CONFIG_DIR/projects instead, and
# some versions write under ~/.config/claude/projects: put the folder yours uses here (a folder
# that does not exist makes the check blind). On a Pro or Max plan these are API-equivalent
# figures, not a bill.
# A turn written again (a resumed session copies it) counts once.
log: "~/.claude/projects/**/*.jsonl"
format: claude-code

# Each session is the "agent" in status' top spenders (fields: { agent: cwd } for the project).

# USD per window. warn: an alert; emergency: an alert and the flag below.
limits:
  15m: { warn: 5, emergency: 10 }
  daily: { warn: 25, emergency: 50 }
  # daily: { warn: 25, emergency: 50, kill: 80 }   # kill needs the target below

# Claude Code does not read this flag by itself. What protects you: the alerts (Slack, the
# journal), and either
#  - a hook that refuses new prompts while the flag exists (a hook's exit 2 blocks), in
#    ~/.claude/settings.json:
#      { "hooks": { "UserPromptSubmit": [ { "hooks": [ { "type": "command", "command":
#          "test ! -e ~/.claude/cost_emergency.flag || { echo 'spend paused' >&2; exit 2; }"
#      } ] } ] } }
#    (the same under "PreToolUse" also stops a running session between tool calls), or
#  - a kill level with the target below: your \`claude\` processes are stopped (SIGTERM, then
#    SIGKILL after the grace).
# (In ~/.claude, which Claude Code makes: the flag's folder is never created by the watchdog.)
flag_file: ~/.claude/cost_emergency.flag
# target:
#   process_name: claude
#   grace: 5s

${COMMON}`;

const OTEL_GENAI = `${HEADER}
# OpenTelemetry GenAI spans, as the Collector's file exporter writes them: one OTLP/JSON line per
# batch. In the Collector's config:
#   exporters:
#     file/genai:
#       path: /var/log/otel/genai.jsonl
#       rotation: { max_megabytes: 100, max_backups: 5 }
#   service:
#     pipelines:
#       traces: { receivers: [otlp], exporters: [file/genai] }
# With rotation, a full file is renamed genai-<time>.jsonl beside it (the watchdog follows the
# rename). Without rotation, set \`append: true\` (the two do not combine), or the file is emptied
# each time the Collector starts. Keep format json and no compression.
# Spans with gen_ai.usage.* count; the others (HTTP, database) are skipped.
log: /var/log/otel/genai.jsonl
format: otel-genai
# Attribution: a span attribute, else its scope's, else its resource's.
fields:
  agent: service.name

# USD per window. warn: an alert; emergency: an alert and the flag below.
limits:
  15m: { warn: 3, emergency: 5 }
  daily: { warn: 20, emergency: 25 }
  # daily: { warn: 20, emergency: 25, kill: 30 }   # kill needs a target

# Written when spend crosses an emergency limit; your agents should pause while it exists.
flag_file: state/cost_emergency.flag
# target:
#   cmdline: "python .*agent\\\\.py"
#   grace: 10s

${COMMON}`;

const LITELLM = `${HEADER}
# LiteLLM's standard logging payload (one per call, success or failure), written as JSON lines
# by a custom callback of the proxy (see docs: "Formats" > LiteLLM). response_cost is checked
# against the price table like any logged cost. A hit of LiteLLM's own cache costs nothing.
log: /var/log/litellm/standard_logging.jsonl
format: litellm
# The agent is the virtual key's alias (metadata.user_api_key_alias), else its team's alias.
# fields:
#   agent: metadata.user_api_key_team_alias
#   task: model_group

# USD per window. warn: an alert; emergency: an alert and the flag below.
limits:
  15m: { warn: 3, emergency: 5 }
  daily: { warn: 20, emergency: 25 }
  # daily: { warn: 20, emergency: 25, kill: 30 }   # kill needs a target

# Written when spend crosses an emergency limit; your apps should pause while it exists.
flag_file: state/cost_emergency.flag
# target:
#   cmdline: "litellm .*--config"
#   grace: 10s

${COMMON}`;

/** The text of a preset; `cost-control` is the example file, given by the caller. */
export function presetText(preset: Exclude<Preset, 'cost-control'>): string {
  if (preset === 'claude-code') return CLAUDE_CODE;
  if (preset === 'otel-genai') return OTEL_GENAI;
  return LITELLM;
}
