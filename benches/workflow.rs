//! Benchmarks of the project lifecycle: `match` over a generated vault of 1,000 experts and 5,000
//! projects, including reading what it needs from disk (the expert and project folders'
//! frontmatter), must answer within 100 ms.
//!
//! Run with `cargo bench --bench workflow`. The vault is generated once under the system's temp
//! folder (`ssot-vault-bench-workflow-<n>`) and reused.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use ssot_vault::config::Config;
use ssot_vault::workflow::matching;

const EXPERTS: usize = 1_000;
const PROJECTS: usize = 5_000;

const SKILLS: &[&str] = &[
    "rust",
    "php",
    "wordpress",
    "woocommerce",
    "ux",
    "payments",
    "seo",
    "postgresql",
    "aws",
    "devops",
    "react",
    "typescript",
    "python",
    "django",
    "figma",
    "copywriting",
    "sql",
    "excel",
    "accounting",
    "marketing",
];
const STATUSES: &[&str] = &[
    "intake",
    "matching",
    "proposed",
    "credentialing",
    "active",
    "active",
    "active",
    "blocked",
    "done",
    "archived",
];

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn skills(r: &mut Rng, min: usize, spread: usize) -> String {
    let n = min + r.below(spread);
    let mut out = String::new();
    let mut seen = Vec::new();
    while seen.len() < n {
        let s = SKILLS[r.below(SKILLS.len())];
        if !seen.contains(&s) {
            seen.push(s);
            out.push_str(&format!("  - {s}\n"));
        }
    }
    out
}

fn ulid(prefix: char, i: usize) -> String {
    format!("01M{prefix}{i:022}")
}

/// Writes the vault; returns the path of the project to rank.
fn generate(root: &Path) -> PathBuf {
    let mut r = Rng(0x5eed_cafe_f00d_1234);
    std::fs::create_dir_all(root.join("Experts")).expect("mkdir");
    std::fs::create_dir_all(root.join("Projects")).expect("mkdir");
    std::fs::create_dir_all(root.join("Clients")).expect("mkdir");
    std::fs::write(root.join("ssot-vault.toml"), "").expect("write");
    std::fs::write(
        root.join("Clients/Acme.md"),
        format!("---\ntype: client\nssot_id: {}\ncreated: 2026-01-01\nname: Acme\nemail: a@acme.example\n---\n", ulid('C', 0)),
    )
    .expect("write");
    for i in 0..EXPERTS {
        let text = format!(
            "---\ntype: expert\nssot_id: {}\ncreated: 2026-01-01\nname: Expert {i}\nemail: expert{i}@example.com\nphone: \"+48 600 {i:03} 000\"\nskills:\n{}languages:\n  - pl\n  - en\navailability_hours: {}\nrate: {}\ncurrency: PLN\nrating: {}.{}\nlocation: Kraków\nstatus: {}\n---\n## Profile\n\nFreelancer number {i}, with a long profile text that the matcher never reads.\n\n## Experience\n\n- 2025: a project\n- 2024: another project\n",
            ulid('E', i),
            skills(&mut r, 3, 4),
            8 + r.below(32),
            100 + r.below(200),
            3 + r.below(2),
            r.below(10),
            ["available", "busy", "unavailable"][r.below(3)],
        );
        std::fs::write(root.join(format!("Experts/Expert {i}.md")), text).expect("write");
    }
    for i in 0..PROJECTS {
        let status = STATUSES[r.below(STATUSES.len())];
        let expert = if matches!(status, "intake" | "matching") {
            String::new()
        } else {
            format!("\"[[Expert {}]]\"", r.below(EXPERTS))
        };
        let text = format!(
            "---\ntype: project\nssot_id: {}\ncreated: 2026-01-01\nclient: \"[[Acme]]\"\nexpert: {expert}\nstatus: {status}\nexpert_status: accepted\nsummary: Project number {i}\nskills_required:\n{}language: pl\nbudget: {}\ncurrency: PLN\nestimate_hours: {}\nstart: 2026-0{}-01\ndeadline: 2026-1{}-15\npriority: medium\n---\n## Scope\n\nA scope of work for project {i}, a few paragraphs long.\n\n## Credentialing\n\n- [x] Contract signed\n- [x] NDA signed\n",
            ulid('P', i),
            skills(&mut r, 2, 3),
            10_000 + r.below(90_000),
            40 + r.below(400),
            1 + r.below(8),
            r.below(3),
        );
        std::fs::write(root.join(format!("Projects/Project {i}.md")), text).expect("write");
    }
    root.join("Projects/Project 0.md")
}

static VAULT: LazyLock<(PathBuf, PathBuf)> = LazyLock::new(|| {
    let root = std::env::temp_dir().join(format!("ssot-vault-bench-workflow-{EXPERTS}-{PROJECTS}"));
    let marker = root.join(".generated");
    let project = root.join("Projects/Project 0.md");
    if !marker.exists() {
        let _ = std::fs::remove_dir_all(&root);
        generate(&root);
        std::fs::write(&marker, "").expect("marker");
    }
    (root, project)
});

fn main() {
    divan::main();
}

/// The whole `match`: read the project, the expert and project folders' frontmatter, rank.
#[divan::bench(sample_count = 30)]
fn match_1000_experts_5000_projects(bencher: divan::Bencher<'_, '_>) {
    let (root, project) = &*VAULT;
    let config = Config::default();
    bencher.bench(|| {
        let r = matching::rank_project(root, &config, project).expect("rank");
        assert_eq!(r.candidates.len() + r.excluded.len(), EXPERTS);
        r
    });
}

/// Reading the pool only.
#[divan::bench(sample_count = 30)]
fn read_pool(bencher: divan::Bencher<'_, '_>) {
    let (root, _) = &*VAULT;
    let config = Config::default();
    bencher.bench(|| matching::load(root, &config).expect("load"));
}

/// Ranking a pool already in memory.
#[divan::bench(sample_count = 100)]
fn rank_in_memory(bencher: divan::Bencher<'_, '_>) {
    let (root, project) = &*VAULT;
    let config = Config::default();
    let pool = matching::load(root, &config).expect("load");
    let note = ssot_vault::vault::note::Note::parse(&std::fs::read(project).expect("read"))
        .expect("parse");
    let card = matching::project_card(project, root, &note);
    bencher.bench(|| matching::rank(&pool, &card));
}
