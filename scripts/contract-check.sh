#!/usr/bin/env bash
# Contract check: a full sync run through Prism's validating proxy (`prism proxy SPEC UPSTREAM
# --errors`, npm package @stoplight/prism-cli) in front of `ssot-vault sandbox`, with the
# service's official OpenAPI spec; reports every violation Prism logs, for requests (what the
# connector sends) and responses (what the emulator answers).
#
# Usage: scripts/contract-check.sh SERVICE [SPEC]
#   SERVICE  hubspot, jira, trello, sheets or forms
#   SPEC     an OpenAPI file, or a folder of them merged into one (the paths the sync uses).
#            Jira: default ../shared/specs/mock/jira-platform-v3.mock.json beside the repository
#            (or JIRA_SPEC), the Prism-ready copy of Atlassian's published platform v3 spec.
#            Trello: default ../shared/specs/mock/trello-v1.mock.json (or TRELLO_SPEC).
#            Sheets: default ../shared/specs/sheets-v4.yaml (or SHEETS_SPEC); Forms: default
#            ../shared/specs/forms-v1.yaml (or FORMS_SPEC): the OpenAPI conversions of Google's
#            discovery documents (YAML, converted with npm's js-yaml).
#            HubSpot: SPEC or HUBSPOT_SPEC_DIR points at a local copy of HubSpot's spec files
#            (github.com/HubSpot/HubSpot-public-api-spec-collection, PublicApiSpecs/CRM/{Objects,
#            Contacts,Companies,Deals,Properties,Associations}); they are not licensed for
#            redistribution, so none ships with ssot-vault.
# Environment:
#   SSOT_VAULT_BIN  the binary to run (default: `cargo build` and target/debug/ssot-vault)
#   PRISM_BIN       an installed `prism` (default: npx --yes @stoplight/prism-cli@5.16)
#   PRISM_ERRORS=0  let violating requests through (Prism then only logs them) instead of
#                   answering them with an error, so the whole sync runs even when one call is off
#   KEEP=1          keep the work folder (vault, logs, merged spec)
#   SPEC_ERRATA=0   check against the spec as published: without the reviewed errata of
#                   scripts/spec-errata/SERVICE.json (the published spec's known errors and
#                   omissions, each with its reason and source), applied by default to the
#                   work folder's copy of the spec
#
# Exit codes: 0 no violation; 1 violations found (listed); 2 usage; 3 Node.js or npx missing;
# 4 spec missing or unreadable; 5 the sandbox or Prism did not start; 6 a sync step failed outside
# of Prism's violations (its output is shown).
set -uo pipefail
set -m # background jobs in their own process groups, so each is stopped whole by its id

usage() {
    sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

service="${1:-}"
spec="${2:-}"
[[ -z "$service" || "$service" == "-h" || "$service" == "--help" ]] && usage
# The spec of a service: its variable, else the file under `shared/specs/` beside the repository.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared_spec() {
    local s
    for s in "$1" "$repo/../shared/specs/$2" "$repo/../../shared/specs/$2"; do
        [[ -z "$spec" && -n "$s" && -e "$s" ]] && spec="$s"
    done
}
case "$service" in
    hubspot) spec="${spec:-${HUBSPOT_SPEC_DIR:-}}" ;;
    jira) shared_spec "${JIRA_SPEC:-}" mock/jira-platform-v3.mock.json ;;
    trello) shared_spec "${TRELLO_SPEC:-}" mock/trello-v1.mock.json ;;
    forms) shared_spec "${FORMS_SPEC:-}" forms-v1.yaml ;;
    sheets) shared_spec "${SHEETS_SPEC:-}" sheets-v4.yaml ;;
    *)
        echo "error: unknown service \`$service\` (known: hubspot, jira, trello, sheets, forms)" >&2
        exit 2
        ;;
esac

if ! command -v node >/dev/null 2>&1 || ! command -v npx >/dev/null 2>&1; then
    echo "error: Node.js and npx are needed to run Prism (@stoplight/prism-cli), and are missing" >&2
    echo "hint: install Node.js 20 or newer (it brings npx), e.g. \`apt-get install nodejs npm\`" >&2
    exit 3
fi

if [[ -z "$spec" ]]; then
    echo "error: no spec for $service: pass its path, or set HUBSPOT_SPEC_DIR" >&2
    echo "hint: HubSpot's spec files are not licensed for redistribution, so none ships here;" >&2
    echo "      clone github.com/HubSpot/HubSpot-public-api-spec-collection and pass its" >&2
    echo "      PublicApiSpecs/CRM folder (or one OpenAPI file covering the CRM v3/v4 paths)" >&2
    exit 4
fi
if [[ ! -e "$spec" ]]; then
    echo "error: the spec $spec does not exist" >&2
    exit 4
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/ssot-contract-XXXXXX")"
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null
    done
    if [[ "${KEEP:-0}" == 1 ]]; then
        echo "work folder kept: $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# Google's specs are YAML: converted to JSON first (npm's js-yaml, through npx like Prism).
if [[ -f "$spec" && "$spec" =~ \.ya?ml$ ]]; then
    if ! npx --yes js-yaml@4.1.0 "$spec" >"$work/spec-from-yaml.json" 2>"$work/js-yaml.log"; then
        echo "error: cannot convert $spec to JSON:" >&2
        cat "$work/js-yaml.log" >&2
        exit 4
    fi
    spec="$work/spec-from-yaml.json"
fi

# One OpenAPI document: the file as it is, or the folder's files merged (the paths the sync uses;
# the first definition of a path, operation or schema wins).
merged="$work/spec.json"
if ! node - "$spec" "$merged" <<'JS'; then
const fs = require("fs"), path = require("path");
const [src, out] = process.argv.slice(2);
const wanted = /^\/crm\/(v3\/objects|v3\/properties|v3\/owners|v4\/)|^\/rest\/api\/3\//;
const files = [];
(function walk(p) {
  const st = fs.statSync(p);
  if (st.isDirectory()) {
    for (const e of fs.readdirSync(p).sort()) walk(path.join(p, e));
  } else if (/\.json$/i.test(p)) files.push(p);
})(src);
const doc = { openapi: "3.0.1", info: { title: "merged for ssot-vault's contract check", version: "1" },
  paths: {}, components: { schemas: {}, responses: {}, securitySchemes: {} } };
let used = 0;
for (const f of files) {
  let d;
  try { d = JSON.parse(fs.readFileSync(f, "utf8")); } catch (e) {
    if (files.length === 1) { console.error(`error: ${f}: not JSON: ${e.message}`); process.exit(1); }
    continue;
  }
  if (files.length === 1 && (d.openapi || d.swagger)) { fs.writeFileSync(out, JSON.stringify(d)); process.exit(0); }
  if (!d.openapi || !d.paths) continue;
  const paths = Object.keys(d.paths).filter((p) => wanted.test(p));
  if (!paths.length) continue;
  used++;
  for (const p of paths) {
    doc.paths[p] = Object.assign({}, d.paths[p], doc.paths[p] || {});
  }
  for (const k of ["schemas", "responses", "securitySchemes"]) {
    for (const [n, v] of Object.entries((d.components || {})[k] || {})) {
      if (!(n in doc.components[k])) doc.components[k][n] = v;
    }
  }
}
if (!used) { console.error(`error: no OpenAPI file under ${src} has a CRM v3/v4 path`); process.exit(1); }
fs.writeFileSync(out, JSON.stringify(doc));
console.error(`spec: ${Object.keys(doc.paths).length} paths from ${used} files`);
JS
    echo "error: cannot use the spec $spec" >&2
    exit 4
fi

# Jira: the trimmed copy lacks some operations the sync uses (the bulk transition and its queue,
# project roles); they are taken from Atlassian's whole spec beside it, with the components they
# reach, so that those exchanges are validated too.
if [[ "$service" == jira ]]; then
    full="${JIRA_FULL_SPEC:-$(dirname "$spec")/../jira-platform-v3.json}"
    if [[ -f "$full" ]]; then
        node - "$merged" "$full" <<'JS' || echo "warning: $full not merged; only the trimmed spec's paths are checked" >&2
const fs = require("fs");
const [out, fullFile] = process.argv.slice(2);
const doc = JSON.parse(fs.readFileSync(out, "utf8"));
const full = JSON.parse(fs.readFileSync(fullFile, "utf8"));
const wanted = ["/rest/api/3/bulk/issues/transition", "/rest/api/3/bulk/queue/{taskId}",
  "/rest/api/3/project/{projectIdOrKey}/role", "/rest/api/3/project/{projectIdOrKey}/role/{id}"];
doc.components = doc.components || {};
const todo = [];
for (const p of wanted) {
  if (!doc.paths[p] && full.paths[p]) { doc.paths[p] = full.paths[p]; todo.push(full.paths[p]); }
}
// Every component the added operations reach, copied when the trimmed spec lacks it.
while (todo.length) {
  const v = todo.pop();
  if (Array.isArray(v)) { todo.push(...v); continue; }
  if (!v || typeof v !== "object") continue;
  const r = v.$ref;
  if (typeof r === "string" && r.startsWith("#/components/")) {
    const [, , kind, name] = r.split("/");
    const src = (full.components[kind] || {})[name];
    doc.components[kind] = doc.components[kind] || {};
    if (src && !(name in doc.components[kind])) { doc.components[kind][name] = src; todo.push(src); }
  }
  for (const x of Object.values(v)) if (x && typeof x === "object") todo.push(x);
}
fs.writeFileSync(out, JSON.stringify(doc));
console.error(`spec: ${Object.keys(doc.paths).length} paths (the bulk transition and project roles added from ${fullFile})`);
JS
    fi
fi

# The published spec's known errors and omissions (scripts/spec-errata/SERVICE.json), applied to
# the work folder's copy unless SPEC_ERRATA=0. Each erratum names its reason and its source and
# changes only what it names; an erratum that no longer finds its place in the spec stops the
# check (exit 4), so a new spec is never patched blindly.
errata="$here/scripts/spec-errata/$service.json"
if [[ "${SPEC_ERRATA:-1}" != 0 && -f "$errata" ]]; then
    if ! node - "$merged" "$errata" <<'JS'; then
const fs = require("fs");
const [file, errataFile] = process.argv.slice(2);
const doc = JSON.parse(fs.readFileSync(file, "utf8"));
const { errata } = JSON.parse(fs.readFileSync(errataFile, "utf8"));
// A JSON pointer's segments (`~1` is `/`, `~0` is `~`).
const segs = (p) => p.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
const at = (parts) => {
  let v = doc;
  for (const s of parts) {
    if (v === null || typeof v !== "object" || !(s in v)) return undefined;
    v = v[s];
  }
  return v;
};
for (const e of errata) {
  if (!e.id || !e.reason || !e.source || !Array.isArray(e.ops) || !e.ops.length) {
    console.error(`error: ${errataFile}: erratum ${e.id || "?"} lacks its id, reason, source or ops`);
    process.exit(1);
  }
  for (const op of e.ops) {
    const parts = segs(op.path);
    const key = parts.pop();
    const parent = at(parts);
    const here = parent && typeof parent === "object" ? parent[key] : undefined;
    const fail = (why) => {
      console.error(`error: erratum ${e.id}: ${op.op} ${op.path}: ${why} (the spec changed? review ${errataFile})`);
      process.exit(1);
    };
    if (!parent || typeof parent !== "object") fail("no such place");
    if ("expect" in op && JSON.stringify(here) !== JSON.stringify(op.expect)) {
      fail(`expected ${JSON.stringify(op.expect)}, found ${JSON.stringify(here)}`);
    }
    switch (op.op) {
      case "replace":
        if (here === undefined) fail("nothing to replace");
        parent[key] = op.value;
        break;
      case "add":
        if (here !== undefined) fail("already there");
        parent[key] = op.value;
        break;
      case "append":
        if (!Array.isArray(here)) fail("not a list");
        here.push(op.value);
        break;
      case "remove":
        if (here === undefined) fail("nothing to remove");
        if (Array.isArray(parent)) parent.splice(Number(key), 1); else delete parent[key];
        break;
      default:
        fail("unknown op");
    }
  }
}
fs.writeFileSync(file, JSON.stringify(doc));
console.log(`errata applied: ${errata.length} (listed in ${errataFile})`);
JS
        echo "error: the errata $errata could not be applied (SPEC_ERRATA=0 checks the spec as published)" >&2
        exit 4
    fi
elif [[ -f "$errata" ]]; then
    echo "errata applied: 0 (SPEC_ERRATA=0: the spec as published)"
fi

# Trello's paths are under its server's `/1`, which Prism's proxy does not strip: the paths get it.
if [[ "$service" == trello ]]; then
    node - "$merged" <<'JS' || exit 4
const fs = require("fs");
const [file] = process.argv.slice(2);
const d = JSON.parse(fs.readFileSync(file, "utf8"));
d.paths = Object.fromEntries(Object.entries(d.paths).map(([p, v]) => ["/1" + p, v]));
delete d.servers;
fs.writeFileSync(file, JSON.stringify(d));
JS
fi

# The binary.
bin="${SSOT_VAULT_BIN:-}"
if [[ -z "$bin" ]]; then
    echo "building ssot-vault..." >&2
    (cd "$here" && cargo build --quiet --bin ssot-vault) || exit 6
    bin="${CARGO_TARGET_DIR:-$here/target}/debug/ssot-vault"
fi

free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# The sandbox, on a free port.
sb_port="$(free_port)"
"$bin" sandbox --addr "127.0.0.1:$sb_port" --no-rate-limit --google-key-file "$work/google-key.json" \
    >"$work/sandbox.log" 2>&1 &
pids+=("$!")
upstream="http://127.0.0.1:$sb_port"
for _ in $(seq 1 100); do
    curl -fsS "$upstream/__sandbox/health" >/dev/null 2>&1 && break
    sleep 0.1
done
if ! curl -fsS "$upstream/__sandbox/health" >/dev/null 2>&1; then
    echo "error: the sandbox did not start:" >&2
    cat "$work/sandbox.log" >&2
    exit 5
fi

# Prism's proxy in front of it.
prism_port="$(free_port)"
errors_flag=(--errors)
[[ "${PRISM_ERRORS:-1}" == 0 ]] && errors_flag=()
if [[ -n "${PRISM_BIN:-}" ]]; then
    prism=("$PRISM_BIN")
else
    prism=(npx --yes @stoplight/prism-cli@5.16)
fi
"${prism[@]}" proxy -h 127.0.0.1 -p "$prism_port" "${errors_flag[@]}" "$merged" "$upstream" \
    >"$work/prism.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 1800); do
    grep -q "Prism is listening" "$work/prism.log" && break
    kill -0 "${pids[1]}" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q "Prism is listening" "$work/prism.log"; then
    echo "error: Prism did not start (log below)" >&2
    tail -n 40 "$work/prism.log" >&2
    exit 5
fi
proxy="http://127.0.0.1:$prism_port"
echo "sandbox at $upstream, Prism's proxy at $proxy" >&2

# A vault from the template, the service pointed at the proxy.
vault="$work/vault"
export GIT_AUTHOR_NAME="Contract Check" GIT_AUTHOR_EMAIL="check@example.com"
export GIT_COMMITTER_NAME="Contract Check" GIT_COMMITTER_EMAIL="check@example.com"
export HUBSPOT_TOKEN="${SSOT_SANDBOX_HUBSPOT_TOKEN:-sandbox-hubspot-token}" NO_COLOR=1
export JIRA_EMAIL="${SSOT_SANDBOX_JIRA_EMAIL:-ops@consultancy.example}"
export JIRA_API_TOKEN="${SSOT_SANDBOX_JIRA_TOKEN:-sandbox-jira-token}"
export TRELLO_KEY="${SSOT_SANDBOX_TRELLO_KEY:-sandbox-trello-key}"
export TRELLO_TOKEN="${SSOT_SANDBOX_TRELLO_TOKEN:-sandbox-trello-token}"
# The sandbox's service-account key: its token_uri is the sandbox itself (sign-in is not part of
# the Forms or Sheets spec), the API calls go through the proxy.
export GOOGLE_APPLICATION_CREDENTIALS="$work/google-key.json"
"$bin" init "$vault" >"$work/steps.log" 2>&1 || { cat "$work/steps.log" >&2; exit 6; }
failed=0
step() {
    local label="$1"
    shift
    echo "== $label: $*" >>"$work/steps.log"
    "$@" >>"$work/steps.log" 2>&1
    local rc=$?
    echo "   exit $rc" >>"$work/steps.log"
    printf '%-44s exit %s\n' "$label" "$rc" >&2
    [[ $rc -ge 2 ]] && failed=1
    return 0
}
sv() { "$bin" --vault "$vault" "$@"; }
if [[ "$service" == jira ]]; then
    node - "$vault/ssot-vault.toml" "$proxy" <<'JS' || exit 6
const fs = require("fs");
const [file, url] = process.argv.slice(2);
const text = fs.readFileSync(file, "utf8");
const start = text.indexOf("[remotes.jira]"), end = text.indexOf("[remotes.trello]");
if (start < 0 || end < start) { console.error(`error: ${file}: no [remotes.jira] to enable`); process.exit(1); }
fs.writeFileSync(file, text.slice(0, start) +
  `[remotes.jira]\nenabled = true\nbase_url = "${url}"\nproject_key = "SSOT"\n\n` + text.slice(end));
JS
    api() { curl -fsS -u "$JIRA_EMAIL:$JIRA_API_TOKEN" -H 'Content-Type: application/json' "$@"; }
    key_of() { sed -n 's/^jira_key: "\{0,1\}\([A-Z0-9_]*-[0-9]*\)"\{0,1\}$/\1/p' "$vault/Projects/$1.md"; }
    # Create (bulk, two projects), an edit on each side (edit, search, pull), transitions made in
    # Jira that the vault moves back (a bulk transition and its queue, comments), a description
    # (ADF), a delete in Jira (bulk fetch, mark), then the lifecycle's actions: the expert's task and the issue on hold
    # (accept), resumed with the expert's access (activate), and the issue deleted with its
    # task when the project is archived.
    step "a second project" sv new project "Złoty Kłos loyalty card" \
        --set 'client=Piekarnia Złoty Kłos' --set 'summary=A loyalty card for regular customers'
    step "the expert's Jira account" sv set "Anna Nowak" \
        "jira_account_id=712020:5f1c2a7e-9b3d-4e8a-a1f0-expert000001"
    step "first sync" sv sync
    step "edit a project in the vault" sv set "Złoty Kłos online shop" budget=47000
    step "sync the vault's edits" sv sync
    key="$(key_of "Złoty Kłos online shop")"
    if [[ -n "$key" ]]; then
        step "edit the issue in Jira" api -X PUT -d '{"fields":{"duedate":"2027-04-30","description":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"From Jira","marks":[{"type":"strong"}]}]}]}}}' \
            "$proxy/rest/api/3/issue/$key"
        step "read the issue's transitions" api "$proxy/rest/api/3/issue/$key/transitions"
        to_hold="$(api "$proxy/rest/api/3/issue/$key/transitions" 2>/dev/null |
            node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const t=(JSON.parse(s).transitions||[]).find(t=>t.to&&t.to.name==="On Hold");console.log(t?t.id:"")})')"
        # Both issues moved where the lifecycle does not allow: the sync moves them back
        # together, by one bulk transition.
        other="$(ls "$vault/Projects" | sed -n 's/\.md$//p' | grep -v '^Złoty Kłos online shop$' | head -1)"
        other_key="$([[ -n "$other" ]] && key_of "$other")"
        for k in "$key" $other_key; do
            [[ -n "$to_hold" ]] && step "move an issue in Jira" api -X POST \
                -d "{\"transition\":{\"id\":\"$to_hold\"}}" "$proxy/rest/api/3/issue/$k/transitions"
        done
    fi
    step "sync Jira's edits" sv sync
    other="$(ls "$vault/Projects" | sed -n 's/\.md$//p' | grep -v '^Złoty Kłos online shop$' | head -1)"
    other_key="$([[ -n "$other" ]] && key_of "$other")"
    [[ -n "$other_key" ]] && step "delete an issue in Jira" api -X DELETE "$proxy/rest/api/3/issue/$other_key"
    step "sync the delete" sv sync --check-archived
    project="Złoty Kłos online shop"
    step "propose the expert" sv match "$project" --assign "Anna Nowak"
    step "the expert accepts" sv project accept "$project"
    step "sync the task and the hold" sv sync
    if [[ -f "$vault/Projects/$project.md" ]]; then
        sed -i 's/^- \[ \] /- [x] /' "$vault/Projects/$project.md"
    fi
    step "activate the project" sv project activate "$project"
    step "sync the resume and the access" sv sync
    step "the project is done" sv project done "$project"
    step "archive the project" sv archive "$project"
    step "sync the delete with children" sv sync
    step "full re-read" sv sync --full --check-archived
elif [[ "$service" == sheets ]]; then
    sheet="1SsotVaultSandboxRegisters_00000000000000000"
    node - "$vault/ssot-vault.toml" "$proxy" "$sheet" <<'JS' || exit 6
const fs = require("fs");
const [file, url, id] = process.argv.slice(2);
const text = fs.readFileSync(file, "utf8");
const start = text.indexOf("[remotes.sheets]"), end = text.indexOf("[remotes.forms]");
if (start < 0 || end < start) { console.error(`error: ${file}: no [remotes.sheets] to enable`); process.exit(1); }
fs.writeFileSync(file, text.slice(0, start) +
  `[remotes.sheets]\nenabled = true\nbase_url = "${url}"\nspreadsheet_id = "${id}"\n` +
  `archive_deleted_notes = true\n\n` + text.slice(end));
JS
    # A person in the browser (the sandbox's admin paths, not through the proxy).
    browser() {
        curl -fsS -H 'Content-Type: application/json' -d "$2" "$upstream/__sandbox/sheets/$sheet/$1"
    }
    # The first sync (the read, the appends), an edit on each side (the read, the re-read of
    # the keys, the cell writes), a row typed by hand (its key written back), a sort and a
    # column inserted by hand before a vault edit, a row deleted by hand (the archived check),
    # a note deleted from the vault (its row deleted), a full re-read.
    step "first sync" sv sync
    step "edit a client in the vault" sv set "Piekarnia Złoty Kłos" email=biuro@zlotyklos.pl
    step "sync the vault's edit" sv sync
    step "edit a cell in the sheet" browser cell '{"sheet":"Experts","cell":"C2","value":"anna.nowak@example.com"}'
    step "type a row by hand" browser cell '{"sheet":"Experts","cell":"B9","value":"Ewa Lis"}'
    step "its e-mail" browser cell '{"sheet":"Experts","cell":"C9","value":"ewa@lis.pl"}'
    step "its specialty" browser cell '{"sheet":"Experts","cell":"D9","value":"audit, VAT"}'
    step "sync the sheet's edits" sv sync
    step "sort a tab by hand" browser sort '{"sheet":"Experts","column":"B","descending":true}'
    step "insert a column by hand" browser insert '{"sheet":"Experts","dimension":"COLUMNS","start":0,"count":1}'
    step "edit an expert in the vault" sv set "Anna Nowak" rate=195
    step "sync after the sort" sv sync
    step "delete a row by hand" browser delete '{"sheet":"Experts","dimension":"ROWS","start":1,"count":1}'
    step "sync the delete" sv sync --check-archived
    step "delete a note in the vault" git -C "$vault" rm -q "Experts/Ewa Lis.md"
    step "commit it" git -C "$vault" commit -qm "Ewa Lis leaves"
    step "sync the note's delete" sv sync --force
    step "full re-read" sv sync --full --check-archived
elif [[ "$service" == forms ]]; then
    intake_form="1SsotVaultSandboxIntakeForm_0000000000000000"
    helpdesk_form="1SsotVaultSandboxHelpdeskForm_00000000000000"
    node - "$vault/ssot-vault.toml" "$proxy" "$intake_form" "$helpdesk_form" <<'JS' || exit 6
const fs = require("fs");
const [file, url, form, helpdesk] = process.argv.slice(2);
const text = fs.readFileSync(file, "utf8");
const start = text.indexOf("[remotes.forms]");
if (start < 0) { console.error(`error: ${file}: no [remotes.forms] to enable`); process.exit(1); }
const rest = text.slice(start + 1);
const next = rest.search(/^\[(?!remotes\.forms\b)/m);
const end = next < 0 ? text.length : start + 1 + next;
fs.writeFileSync(file, text.slice(0, start) +
  `[remotes.forms]\nenabled = true\nbase_url = "${url}"\nintake_form = "${form}"\nhelpdesk_form = "${helpdesk}"\n\n` +
  text.slice(end));
JS
    # A person fills in the form (the sandbox's admin path, not through the proxy).
    submit() {
        curl -fsS -H 'Content-Type: application/json' -d "$1" \
            "$upstream/__sandbox/forms/${3:-$intake_form}/responses${2:-}"
    }
    # The first read (forms.get and responses.list from the start), a response taken, a poll
    # with nothing new (a filtered list), an edited response read again, the paging of a full
    # re-read.
    step "first sync (no response yet)" sv sync
    step "a response is submitted" submit '{"answers":{"Contact name":"Jan Kowalski","Email":"jan@example.com","Company":"Warsztat Kowalski","What do you need?":"A website","Budget":"12000","Deadline":"2027-03-01"},"respondentEmail":"jan@example.com"}'
    step "sync the response" sv sync
    step "poll with nothing new" sv sync
    rid="$(curl -fsS "$upstream/__sandbox/forms/$intake_form" |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=(JSON.parse(s).responses||[]);console.log(r.length?r[0].responseId:"")})')"
    [[ -n "$rid" ]] && step "the response is edited" submit '{"answers":{"Budget":"15000"}}' "/$rid"
    step "a second response" submit '{"answers":{"Contact name":"Ewa Zielińska","Email":"ewa@example.com","What do you need?":"Bookkeeping","Budget":"3000"}}'
    step "sync the edit and the new one" sv sync
    # The helpdesk form: a message about a project opens a ticket, a second one joins it.
    step "a helpdesk message" submit '{"answers":{"Project":"Złoty Kłos online shop","Who is writing?":"client","Message":"The payment page shows an error."}}' "" "$helpdesk_form"
    step "sync the helpdesk message" sv sync
    step "a second helpdesk message" submit '{"answers":{"Project":"Złoty Kłos online shop","Who is writing?":"expert","Message":"Looking into it."}}' "" "$helpdesk_form"
    step "sync the second message" sv sync
    step "full re-read" sv sync --full
elif [[ "$service" == trello ]]; then
    node - "$vault/ssot-vault.toml" "$proxy" <<'JS' || exit 6
const fs = require("fs");
const [file, url] = process.argv.slice(2);
const text = fs.readFileSync(file, "utf8");
const start = text.indexOf("[remotes.trello]"), end = text.indexOf("[remotes.sheets]");
if (start < 0 || end < start) { console.error(`error: ${file}: no [remotes.trello] to enable`); process.exit(1); }
fs.writeFileSync(file, text.slice(0, start) +
  `[remotes.trello]\nenabled = true\nbase_url = "${url}/1"\nboard = "Projects"\nhelpdesk_board = "Helpdesk"\n\n` +
  text.slice(end));
JS
    # Colleagues' calls go through the proxy with the query form of the credentials.
    auth="key=$TRELLO_KEY&token=sandbox-trello-token-ola"
    api() { curl -fsS -H 'Content-Type: application/json' "$@"; }
    card_of() { sed -n 's/^trello_card_id: "\{0,1\}\([0-9a-f]*\)"\{0,1\}$/\1/p' "$vault/$1"; }
    # Creates (template copy, custom fields, checklist), an edit on each side (card update,
    # actions feed, card reads), a comment, a ticket with its conversation (comments both
    # ways), a list move the lifecycle refuses (moved back, commented), a card closed in Trello
    # (archived listing), a full re-read.
    step "first sync" sv sync
    step "edit a project in the vault" sv set "Złoty Kłos online shop" budget=47000
    step "sync the vault's edits" sv sync
    card="$(card_of "Projects/Złoty Kłos online shop.md")"
    if [[ -n "$card" ]]; then
        step "edit the card in Trello" api -X PUT -d '{"desc":"From Trello","due":"2027-04-30"}' \
            "$proxy/1/cards/$card?$auth"
        step "comment on the card" api -X POST -d '{"text":"Looks good"}' \
            "$proxy/1/cards/$card/actions/comments?$auth"
        done_list="$(api "$proxy/1/boards/$(api "$proxy/1/cards/$card?$auth" |
            node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).idBoard))')/lists?$auth" |
            node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const l=JSON.parse(s).find(l=>l.name==="Done");console.log(l?l.id:"")})')"
        [[ -n "$done_list" ]] && step "move the card to Done in Trello" api -X PUT \
            -d "{\"idList\":\"$done_list\"}" "$proxy/1/cards/$card?$auth"
    fi
    step "sync Trello's edits" sv sync
    step "open a ticket" sv ticket new "Złoty Kłos online shop" --from client \
        --subject "Payment page" -m "The payment page shows an error."
    step "commit it" sv commit -m "A ticket"
    step "sync the ticket" sv sync
    ticket="$(card_of "Helpdesk/Payment page.md")"
    [[ -n "$ticket" ]] && step "answer on the ticket's card" api -X POST \
        -d '{"text":"Fixed, please try again."}' "$proxy/1/cards/$ticket/actions/comments?key=$TRELLO_KEY&token=sandbox-trello-token-ewa"
    step "sync the answer" sv sync
    step "reply in the vault" sv ticket reply "Payment page" -m "Thanks."
    step "sync the reply" sv sync
    other="$(ls "$vault/Projects" | grep -v '^Złoty Kłos online shop.md$' | head -1)"
    other_card="$([[ -n "$other" ]] && card_of "Projects/$other")"
    [[ -n "$other_card" ]] && step "close a card in Trello" api -X PUT -d '{"closed":true}' \
        "$proxy/1/cards/$other_card?$auth"
    step "sync the close" sv sync --check-archived
    step "full re-read" sv sync --full --check-archived
else
node - "$vault/ssot-vault.toml" "$proxy" <<'JS' || exit 6
const fs = require("fs");
const [file, url] = process.argv.slice(2);
const text = fs.readFileSync(file, "utf8");
const from = 'enabled = false\nbase_url = "https://api.hubapi.com"';
if (!text.includes(from)) { console.error(`error: ${file}: no [remotes.hubspot] to enable`); process.exit(1); }
fs.writeFileSync(file, text.replace(from, `enabled = true\nbase_url = "${url}"`));
JS

# The sync, every path it takes: a first sync (properties, upserts, companies, associations), an
# edit on each side (updates, search, pull), an archive in HubSpot (archived listing, mark), and a
# full re-read.
step "first sync" sv sync
step "edit a client in the vault" sv set "Piekarnia Złoty Kłos" city=Kraków
step "edit a project in the vault" sv set "Złoty Kłos online shop" budget=47000
step "sync the vault's edits" sv sync
expert_id="$(sed -n 's/^hubspot_id: "\{0,1\}\([0-9]*\)"\{0,1\}$/\1/p' "$vault/Experts/Anna Nowak.md")"
other_id="$(sed -n 's/^hubspot_id: "\{0,1\}\([0-9]*\)"\{0,1\}$/\1/p' "$vault/Experts/Tomasz Wiśniewski.md")"
if [[ -n "$expert_id" ]]; then
    step "edit a contact in HubSpot" curl -fsS -X PATCH -H "Authorization: Bearer $HUBSPOT_TOKEN" \
        -H 'Content-Type: application/json' -d '{"properties":{"city":"Gdańsk"}}' \
        "$proxy/crm/v3/objects/contacts/$expert_id"
fi
if [[ -n "$other_id" ]]; then
    step "archive a contact in HubSpot" curl -fsS -X DELETE -H "Authorization: Bearer $HUBSPOT_TOKEN" \
        "$proxy/crm/v3/objects/contacts/$other_id"
fi
deal_id="$(sed -n 's/^hubspot_id: "\{0,1\}\([0-9]*\)"\{0,1\}$/\1/p' "$vault/Projects/Złoty Kłos online shop.md")"
if [[ -n "$deal_id" && -n "$expert_id" ]]; then
    # A batch association naming a record that does not exist: the emulator's per-input errors.
    step "associate with a missing record" curl -sS -o /dev/null -X POST \
        -H "Authorization: Bearer $HUBSPOT_TOKEN" -H 'Content-Type: application/json' \
        -d "{\"inputs\":[{\"from\":{\"id\":\"$deal_id\"},\"to\":{\"id\":\"$expert_id\"}},{\"from\":{\"id\":\"$deal_id\"},\"to\":{\"id\":\"999999999\"}}]}" \
        "$proxy/crm/v4/associations/deals/contacts/batch/associate/default"
fi
step "sync HubSpot's edits" sv sync --check-archived
step "full re-read" sv sync --full --check-archived
fi

# Prism's violations: each distinct one with its count, requests and responses apart. Under
# --errors a violating request is answered 422 by Prism (never reaching the sandbox): its details
# are in the answer the sync printed.
node - "$work/prism.log" "$work/steps.log" <<'JS'
const fs = require("fs");
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");
const norm = (s) => s.replace(/\.\d+(?=[.\s]|$)/g, ".N");
const found = new Map();
const add = (key) => found.set(key, (found.get(key) || 0) + 1);
let current = "?";
let terminated = 0;
for (const raw of fs.readFileSync(process.argv[2], "utf8").split("\n")) {
  const l = strip(raw);
  const req = l.match(/\[HTTP SERVER\]\s+(\w+)\s+(\/\S*)/i);
  if (req) current = `${req[1].toUpperCase()} ${req[2].replace(/\?.*/, "").replace(/\/\d+(?=\/|$)/g, "/{id}").replace(/\/[0-9a-f]{24}(?=\/|$)/g, "/{id}")}`;
  if (/Request terminated with error/.test(l)) terminated++;
  const v = l.match(/Violation:\s+((request|response)\S*)\s+(.*)$/);
  if (v) add(`${v[2]}\t${current}\t${norm(v[1])}: ${norm(v[3])}`);
}
// Requests Prism refused (--errors): the 422 bodies in the sync's output.
for (const l of fs.readFileSync(process.argv[3], "utf8").split("\n")) {
  const m = l.match(/: (GET|POST|PUT|PATCH|DELETE) (\S+): HTTP (?:422|500)(?: \(after \d+ attempts\))?: (\{.*\})\s*$/);
  if (!m) continue;
  let body;
  try { body = JSON.parse(m[3]); } catch (e) { continue; }
  for (const v of body.validation || []) {
    const kind = v.location[0] === "response" ? "response" : "request";
    add(`${kind}\t${m[1]} ${m[2].replace(/\/\d+(?=\/|$)/g, "/{id}").replace(/\/[0-9a-f]{24}(?=\/|$)/g, "/{id}").replace(/\/[A-Z][A-Z0-9_]*-\d+(?=\/|$)/g, "/{key}")}\t${norm(v.location.join("."))}: ${norm(v.message)} (refused by Prism)`);
  }
}
const exchanges = fs.readFileSync(process.argv[2], "utf8").split("\n")
  .filter((l) => /\[HTTP SERVER\]\s+\w+\s+\//i.test(strip(l))).length;
console.log(`\nPrism: ${exchanges} exchanges validated`);
const all = [...found];
const total = all.reduce((a, [, n]) => a + n, 0);
const of = (kind) => all.filter(([k]) => k.startsWith(kind + "\t")).sort();
console.log(`\nPrism: ${total} violations, ${found.size} distinct (${of("request").length} in requests, ${of("response").length} in responses)`);
for (const [kind, title] of [["request", "requests (what the connector sends)"], ["response", "responses (what the emulator answers)"]]) {
  const list = of(kind);
  if (!list.length) continue;
  console.log(`\n${title}:`);
  for (const [k, n] of list) {
    const [, endpoint, what] = k.split("\t");
    console.log(`  ${String(n).padStart(4)} × ${endpoint}  ${what}`);
  }
}
if (terminated) {
  console.log(`\nPrism refused ${terminated} requests (--errors), so the sync stopped early; run with PRISM_ERRORS=0 to let them through and check the whole sync.`);
}
process.exit(total || terminated ? 1 : 0);
JS
violations=$?

if [[ $violations -ne 0 ]]; then
    echo -e "\nrun with KEEP=1 to keep Prism's log and the sync's output" >&2
    exit 1
fi
if [[ $failed -ne 0 ]]; then
    echo -e "\nA sync step failed (exit 2) with no violation logged; its output:" >&2
    cat "$work/steps.log" >&2
    exit 6
fi
echo "no violation" >&2
exit 0
