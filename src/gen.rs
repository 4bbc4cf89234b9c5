//! A deterministic generator of realistic vaults, for benchmarks, demos and tests.
//!
//! [`generate`] writes the vault template (as `ssot-vault init` does) and then `notes` notes in the
//! proportions of a consultancy: about 15% clients, 15% experts, 45% projects and 25% helpdesk
//! tickets, with Polish and English names (diacritics included), frontmatter valid for the built-in
//! schema, and bodies of 10 to 60 lines with headings, paragraphs, wikilinks to other generated
//! notes, a `## Credentialing` task list on projects and a `## Conversation` of timestamped
//! messages on tickets. The same seed gives the same bytes; every generated vault passes
//! `ssot-vault check` without a problem.
//!
//! Randomness is a small xorshift64* of our own: the output must not change when a dependency does.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use crate::vault::id::ulid_from;
use crate::vault::index::name_key;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenOptions {
    /// Generated notes, in total (the template's own notes come on top).
    pub notes: usize,
    /// The seed: the same seed gives the same vault, byte for byte.
    pub seed: u64,
    /// Make a first git commit of the whole vault (fixed author and date).
    pub with_git: bool,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            notes: 10_000,
            seed: 1,
            with_git: false,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenStats {
    /// Client notes (`Clients/`).
    pub clients: usize,
    /// Expert notes (`Experts/`).
    pub experts: usize,
    /// Project notes (`Projects/`).
    pub projects: usize,
    /// Ticket notes (`Helpdesk/`).
    pub tickets: usize,
    /// Files written, the template's included (not `.git`).
    pub files: usize,
    /// Bytes written (not `.git`).
    pub bytes: u64,
    /// The first commit, with `with_git`.
    pub commit: Option<String>,
}

/// The skills experts have and projects require.
pub const SKILLS: &[&str] = &[
    "php",
    "wordpress",
    "woocommerce",
    "ux",
    "payments",
    "rust",
    "postgresql",
    "aws",
    "devops",
    "python",
    "django",
    "react",
    "typescript",
    "node",
    "java",
    "kotlin",
    "swift",
    "flutter",
    "sql",
    "power-bi",
    "excel",
    "sap",
    "seo",
    "copywriting",
    "graphic-design",
    "figma",
    "accounting",
    "gdpr",
    "security",
    "networking",
    "azure",
    "docker",
    "kubernetes",
    "shopify",
    "magento",
    "salesforce",
    "hubspot",
    "data-analysis",
    "machine-learning",
    "ksef",
];

const PL_MALE: &[&str] = &[
    "Adam",
    "Andrzej",
    "Bartłomiej",
    "Cezary",
    "Dariusz",
    "Grzegorz",
    "Jakub",
    "Jan",
    "Jarosław",
    "Jędrzej",
    "Kamil",
    "Krzysztof",
    "Łukasz",
    "Maciej",
    "Marcin",
    "Marek",
    "Mateusz",
    "Michał",
    "Mikołaj",
    "Paweł",
    "Piotr",
    "Przemysław",
    "Radosław",
    "Rafał",
    "Sławomir",
    "Stanisław",
    "Szymon",
    "Tomasz",
    "Wojciech",
    "Zbigniew",
];

const PL_FEMALE: &[&str] = &[
    "Agnieszka",
    "Aleksandra",
    "Anna",
    "Barbara",
    "Beata",
    "Bożena",
    "Dorota",
    "Elżbieta",
    "Ewa",
    "Grażyna",
    "Hanna",
    "Iwona",
    "Jadwiga",
    "Joanna",
    "Jolanta",
    "Justyna",
    "Katarzyna",
    "Łucja",
    "Magdalena",
    "Małgorzata",
    "Marta",
    "Monika",
    "Natalia",
    "Paulina",
    "Renata",
    "Weronika",
    "Zofia",
    "Żaneta",
];

/// Masculine forms; `-ski`, `-cki`, `-dzki` take `-a` for women.
const PL_SURNAMES: &[&str] = &[
    "Nowak",
    "Kowalski",
    "Wiśniewski",
    "Wójcik",
    "Kowalczyk",
    "Kamiński",
    "Lewandowski",
    "Zieliński",
    "Szymański",
    "Woźniak",
    "Dąbrowski",
    "Kozłowski",
    "Jankowski",
    "Mazur",
    "Wojciechowski",
    "Kwiatkowski",
    "Krawczyk",
    "Kaczmarek",
    "Piotrowski",
    "Grabowski",
    "Zając",
    "Pawłowski",
    "Michalski",
    "Król",
    "Wieczorek",
    "Jabłoński",
    "Wróbel",
    "Nowakowski",
    "Majewski",
    "Olszewski",
    "Stępień",
    "Malinowski",
    "Jaworski",
    "Adamczyk",
    "Dudek",
    "Nowicki",
    "Pawlak",
    "Górski",
    "Witkowski",
    "Walczak",
    "Sikora",
    "Baran",
    "Rutkowski",
    "Michalak",
    "Szewczyk",
    "Ostrowski",
    "Tomaszewski",
    "Pietrzak",
    "Duda",
    "Zalewski",
    "Wróblewski",
    "Jasiński",
    "Marciniak",
    "Bąk",
    "Żak",
    "Sadowski",
    "Czarnecki",
    "Zawadzki",
    "Chmielewski",
    "Borkowski",
    "Sokołowski",
    "Gołębiowski",
    "Łuczak",
    "Ślusarczyk",
    "Głowacki",
    "Kołodziej",
    "Błaszczyk",
    "Śliwiński",
];

const EN_FIRST: &[&str] = &[
    "Emily",
    "James",
    "Oliver",
    "Charlotte",
    "Amelia",
    "George",
    "Harry",
    "Sophie",
    "Jack",
    "Isabella",
    "Thomas",
    "Olivia",
    "William",
    "Grace",
    "Daniel",
    "Chloé",
    "Zoë",
    "Renée",
    "Noël",
    "Amélie",
    "Joël",
    "Seán",
    "Siobhán",
    "Róisín",
    "Eoin",
    "Hannah",
    "Lucy",
    "Matthew",
    "Ruth",
    "Edward",
];

const EN_SURNAMES: &[&str] = &[
    "Smith",
    "Taylor",
    "Brown",
    "Wilson",
    "Evans",
    "Roberts",
    "Johnson",
    "Walker",
    "Wright",
    "Robinson",
    "Thompson",
    "White",
    "Hughes",
    "Edwards",
    "Green",
    "Hall",
    "Wood",
    "Harris",
    "Clarke",
    "Jackson",
    "Turner",
    "Hill",
    "Moore",
    "Cooper",
    "Ward",
    "Morris",
    "King",
    "Baker",
    "Fletcher",
    "Brontë",
    "Ó Briain",
    "Doyle",
    "Kavanagh",
    "Lefèvre",
    "Gallagher",
];

const PL_KINDS: &[&str] = &[
    "Piekarnia",
    "Kwiaciarnia",
    "Apteka",
    "Księgarnia",
    "Kancelaria",
    "Pracownia",
    "Drukarnia",
    "Cukiernia",
    "Restauracja",
    "Hurtownia",
    "Studio",
    "Gabinet",
    "Warsztat",
    "Przychodnia",
    "Biuro Rachunkowe",
    "Szkoła Językowa",
    "Hotel",
    "Pensjonat",
    "Winnica",
    "Browar",
    "Palarnia Kawy",
    "Salon Fryzjerski",
    "Klinika Weterynaryjna",
    "Tłocznia",
    "Wędzarnia",
    "Serwis Rowerowy",
    "Przedszkole",
    "Biuro Podróży",
];

const PL_EPITHETS: &[&str] = &[
    "Złoty Kłos",
    "Pod Lipami",
    "Stary Młyn",
    "Zielona Dolina",
    "Biały Żagiel",
    "Srebrna Łza",
    "Pod Kasztanem",
    "Mazowsze",
    "Kaszuby",
    "Żuraw",
    "Bursztyn",
    "Wisła",
    "Warta",
    "Sokół",
    "Jantar",
    "Wrzos",
    "Dąb",
    "Jaśmin",
    "Róża",
    "Źródło",
    "Świt",
    "Zorza",
    "Promyk",
    "Lazur",
    "Pod Wierzbą",
    "Na Rozstajach",
    "Nad Odrą",
    "Tęcza",
    "Łąka",
    "Kormoran",
    "Perła",
    "Magnolia",
    "Gościniec",
    "Przystań",
    "Kuźnia Smaku",
    "Młynek",
    "Żubr",
    "Słonecznik",
    "Pod Złotą Gęsią",
    "Wierzbowa",
];

const EN_EPITHETS: &[&str] = &[
    "Northwind",
    "Riverside",
    "Blue Harbour",
    "Greenleaf",
    "Silverline",
    "Brightwater",
    "Redbrick",
    "Kingfisher",
    "Maple Lane",
    "Harbourview",
    "Café Lumière",
    "Crème",
    "Rosé Garden",
    "Belle Époque",
    "Naïve",
    "Old Mill",
    "Copperfield",
    "Bluebell",
    "Highgate",
    "Thistle",
    "Fernhill",
    "Saint-Émilion",
    "Hawthorn",
    "Lakeside",
];

const EN_KINDS: &[&str] = &[
    "Bakery",
    "Dental Clinic",
    "Coffee Roasters",
    "Books",
    "Logistics",
    "Architects",
    "Fitness",
    "Yoga Studio",
    "Wine Bar",
    "Florist",
    "Law Office",
    "Accounting",
    "Hotel",
    "Guesthouse",
    "Print Shop",
    "Bistro",
    "Brewery",
    "Language School",
    "Vet Clinic",
    "Garage",
];

const PL_CITIES: &[(&str, &str)] = &[
    ("Warszawa", "02"),
    ("Kraków", "30"),
    ("Wrocław", "50"),
    ("Poznań", "60"),
    ("Gdańsk", "80"),
    ("Łódź", "90"),
    ("Szczecin", "70"),
    ("Lublin", "20"),
    ("Katowice", "40"),
    ("Białystok", "15"),
    ("Gdynia", "81"),
    ("Częstochowa", "42"),
    ("Rzeszów", "35"),
    ("Toruń", "87"),
    ("Kielce", "25"),
    ("Olsztyn", "10"),
    ("Opole", "45"),
    ("Zielona Góra", "65"),
    ("Bielsko-Biała", "43"),
    ("Zakopane", "34"),
];

const EN_CITIES: &[(&str, &str)] = &[
    ("London", "SE1"),
    ("Manchester", "M4"),
    ("Bristol", "BS1"),
    ("Leeds", "LS2"),
    ("Edinburgh", "EH1"),
    ("Cambridge", "CB2"),
    ("Brighton", "BN1"),
    ("York", "YO1"),
];

const PL_STREETS: &[&str] = &[
    "ul. Grójecka",
    "ul. Długa",
    "ul. Piłsudskiego",
    "al. Jerozolimskie",
    "ul. Świętokrzyska",
    "ul. Żeromskiego",
    "ul. Mickiewicza",
    "ul. Kościuszki",
    "ul. Słowackiego",
    "ul. Wrocławska",
    "ul. Łąkowa",
    "ul. Ogrodowa",
    "ul. Źródlana",
    "ul. Piękna",
    "ul. Księżycowa",
    "ul. Sienkiewicza",
];

const EN_STREETS: &[&str] = &[
    "High Street",
    "Station Road",
    "Church Lane",
    "Mill Road",
    "Victoria Street",
    "Queen's Road",
    "Park Avenue",
    "Market Square",
];

const INDUSTRIES: &[&str] = &[
    "Food production",
    "Retail",
    "Legal services",
    "Healthcare",
    "Hospitality",
    "Education",
    "Logistics",
    "Construction",
    "Accounting",
    "Tourism",
    "Printing",
    "Beauty",
];

const PROJECT_KINDS: &[(&str, &[&str])] = &[
    ("online shop", &["woocommerce", "php", "payments", "ux"]),
    ("booking system", &["react", "node", "payments"]),
    ("website redesign", &["wordpress", "ux", "figma", "seo"]),
    ("CRM migration", &["hubspot", "salesforce", "data-analysis"]),
    ("mobile app", &["flutter", "kotlin", "swift"]),
    ("inventory system", &["python", "django", "postgresql"]),
    ("accounting integration", &["accounting", "sap", "excel"]),
    ("SEO audit", &["seo", "copywriting"]),
    ("data warehouse", &["sql", "postgresql", "power-bi"]),
    ("payroll automation", &["python", "excel", "accounting"]),
    ("customer portal", &["react", "typescript", "node"]),
    ("newsletter automation", &["hubspot", "copywriting"]),
    ("loyalty programme", &["shopify", "ux", "payments"]),
    ("cloud migration", &["aws", "devops", "docker"]),
    ("security audit", &["security", "networking", "gdpr"]),
    ("ERP integration", &["sap", "java", "sql"]),
    ("analytics dashboard", &["power-bi", "data-analysis", "sql"]),
    ("KSeF e-invoicing", &["ksef", "accounting", "python"]),
    ("GDPR review", &["gdpr", "security"]),
    ("POS integration", &["payments", "node", "sql"]),
    ("delivery app", &["flutter", "node", "aws"]),
    ("B2B portal", &["magento", "php", "payments"]),
    ("intranet", &["azure", "typescript", "ux"]),
    ("API integration", &["rust", "postgresql", "docker"]),
    ("brand identity", &["graphic-design", "figma"]),
    ("backup and recovery", &["devops", "azure", "networking"]),
    ("Kubernetes platform", &["kubernetes", "docker", "devops"]),
    ("demand forecasting", &["machine-learning", "python", "sql"]),
];

const TICKET_SUBJECTS: &[&str] = &[
    "Invoice for last month",
    "Cannot log in to the staging site",
    "Question about the deadline",
    "Access to Jira",
    "Payment not received",
    "Change of scope",
    "Missing product photos",
    "Contract amendment",
    "Timesheet correction",
    "Server not responding",
    "Progress report requested",
    "Zmiana terminu spotkania",
    "Faktura korygująca",
    "Brak dostępu do repozytorium",
    "Pytanie o wycenę",
    "Błąd w formularzu zamówień",
    "Hosting renewal",
    "Domain transfer",
    "Test data needed",
    "Holiday availability",
];

const CREDENTIALING: &[&str] = &[
    "NDA signed",
    "Contract signed",
    "Access to Jira granted",
    "VPN account created",
    "Repository access",
    "Onboarding call held",
    "Security training completed",
    "Invoice details confirmed",
    "Company e-mail account",
    "Data processing agreement signed",
];

const SCOPE_ITEMS: &[&str] = &[
    "Workshop with the client to agree on priorities",
    "Audit of the current setup and a written report",
    "Design of the main screens, reviewed with the client",
    "Implementation in two-week iterations",
    "Migration of existing data, with a dry run first",
    "Payments by Przelewy24 and BLIK",
    "Integration with the accounting system",
    "Training for the staff (two sessions)",
    "Documentation in Polish and English",
    "Three months of support after launch",
    "Performance tests before go-live",
    "Accessibility review (WCAG 2.1 AA)",
    "Monitoring and alerting",
    "Backups tested by a restore",
];

const DELIVERABLES: &[&str] = &[
    "Source code in the client's repository",
    "Deployment to production",
    "Handover meeting and recorded walkthrough",
    "Admin guide",
    "Test report",
    "Final invoice and time report",
];

const SENTENCES: &[&str] = &[
    "The client prefers short weekly updates by e-mail over long meetings.",
    "Budget approved by the board; invoices monthly, 14 days to pay.",
    "Most users work on phones, so the mobile layout comes first.",
    "Zespół klienta jest mały, więc szkolenia trzeba zaplanować poza sezonem.",
    "They had a bad experience with a previous agency and want fixed milestones.",
    "Content and photos come from the client; delays there move our dates too.",
    "The current system runs on an old server in the office, without backups.",
    "Decisions are made by the owner; the office manager handles day-to-day questions.",
    "Klient oczekuje faktur z podzielną płatnością.",
    "The peak season is from May to September: no releases then.",
    "Good relationship so far; they recommended us to two other companies.",
    "Everything must comply with GDPR: personal data stays in the EU.",
    "Spotkania tylko we wtorki i czwartki przed południem.",
    "They asked for a fixed price; we agreed on time and materials with a cap.",
    "A follow-up project is likely if this one goes well.",
    "Communication in Polish; documentation in English for the IT partner.",
];

const MESSAGES: &[&str] = &[
    "Good morning, could you have a look at this today?",
    "Thanks, I will check and come back to you by the end of the day.",
    "Attached the screenshot; it happens every time after logging in.",
    "Dzień dobry, czy możemy przesunąć termin o tydzień?",
    "Fixed on staging, please confirm it works for you.",
    "Confirmed, all good now. Thank you!",
    "The invoice was sent on Monday to the accounting address.",
    "Proszę o korektę faktury, brakuje numeru zamówienia.",
    "I need access by Thursday, otherwise the sprint slips.",
    "Access granted, the invitation is in your mailbox.",
    "We discussed it in the call: the change is in scope.",
    "Could you send the updated estimate?",
];

const PL_DOMAINS: &[&str] = &[
    "gmail.com",
    "wp.pl",
    "onet.pl",
    "o2.pl",
    "interia.pl",
    "proton.me",
];
const EN_DOMAINS: &[&str] = &["gmail.com", "outlook.com", "proton.me", "fastmail.com"];

/// Projects by status, weights in percent; `archived` projects belong in `Archive/`, so none here.
const STATUS_WEIGHTS: &[(&str, u64)] = &[
    ("intake", 5),
    ("matching", 10),
    ("proposed", 8),
    ("accepted", 7),
    ("credentialing", 10),
    ("active", 30),
    ("blocked", 5),
    ("done", 25),
];

/// Days since 1970-01-01 of 2024-01-01, the first `created` date.
const BASE_DAYS: i64 = 19_723;
/// Days over which notes are created (2024-01-01 to late 2026).
const SPAN_DAYS: i64 = 1_050;
/// The date of the bench commit (2026-11-27T12:00:00Z).
const COMMIT_TIME: i64 = 1_795_780_800;

use crate::rng::Rng;

/// Unique note names, compared as Obsidian compares them (case-insensitive, NFC).
#[derive(Debug, Default)]
struct Names(HashSet<String>);

impl Names {
    fn try_take(&mut self, name: &str) -> bool {
        self.0.insert(name_key(name))
    }

    /// `first` when free, else the first free alternative, else `first` numbered.
    fn take(&mut self, first: String, alternatives: &[String]) -> String {
        if self.try_take(&first) {
            return first;
        }
        for a in alternatives {
            if self.try_take(a) {
                return a.clone();
            }
        }
        let mut n = 2;
        loop {
            let candidate = format!("{first} {n}");
            if self.try_take(&candidate) {
                return candidate;
            }
            n += 1;
        }
    }
}

#[derive(Debug)]
struct Client {
    name: String,
    short: String,
    polish: bool,
    city: (&'static str, &'static str),
    contact: String,
    created: i64,
    projects: Vec<usize>,
}

#[derive(Debug)]
struct Expert {
    name: String,
    polish: bool,
    created: i64,
    skills: Vec<&'static str>,
    projects: Vec<usize>,
}

#[derive(Debug)]
struct Project {
    name: String,
    kind: usize,
    client: usize,
    expert: Option<usize>,
    declined: Vec<usize>,
    status: &'static str,
    created: i64,
    tickets: Vec<usize>,
}

#[derive(Debug)]
struct Ticket {
    name: String,
    subject: &'static str,
    project: usize,
    from_expert: bool,
    created: i64,
}

/// The whole generated population, decided before any note is written so that every link resolves.
#[derive(Debug)]
struct World {
    clients: Vec<Client>,
    experts: Vec<Expert>,
    projects: Vec<Project>,
    tickets: Vec<Ticket>,
}

/// How many notes of each type: clients, experts, projects, tickets.
fn proportions(n: usize) -> (usize, usize, usize, usize) {
    if n == 0 {
        return (0, 0, 0, 0);
    }
    let c = (n * 15 / 100).max(1);
    let e = n * 15 / 100;
    let mut t = n * 25 / 100;
    let mut p = n.saturating_sub(c + e + t);
    if p == 0 && t > 0 {
        t -= 1;
        p += 1;
    }
    (c, e, p, t)
}

fn feminine(surname: &str) -> String {
    if surname.ends_with("ski") || surname.ends_with("cki") || surname.ends_with("dzki") {
        format!("{}a", &surname[..surname.len() - 1])
    } else {
        surname.to_string()
    }
}

fn person(rng: &mut Rng, polish: bool) -> (String, String) {
    if polish {
        let surname = *rng.pick(PL_SURNAMES);
        if rng.chance(50) {
            (rng.pick(PL_FEMALE).to_string(), feminine(surname))
        } else {
            (rng.pick(PL_MALE).to_string(), surname.to_string())
        }
    } else {
        (
            rng.pick(EN_FIRST).to_string(),
            rng.pick(EN_SURNAMES).to_string(),
        )
    }
}

/// ASCII for e-mail addresses and slugs: Polish letters and common accents folded, the rest dropped.
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let f = match c {
            'ą' | 'á' | 'à' | 'â' => 'a',
            'ć' | 'ç' => 'c',
            'ę' | 'é' | 'è' | 'ê' | 'ë' => 'e',
            'ł' => 'l',
            'ń' => 'n',
            'ó' | 'ô' | 'Ó' => 'o',
            'ś' => 's',
            'ź' | 'ż' | 'Ż' | 'Ź' => 'z',
            'í' | 'ï' => 'i',
            'Ą' => 'a',
            'Ć' => 'c',
            'Ę' | 'É' => 'e',
            'Ł' => 'l',
            'Ś' => 's',
            c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            '.' | '-' => c,
            _ => continue,
        };
        out.push(f);
    }
    out
}

fn build_world(opts: &GenOptions) -> World {
    let mut rng = Rng::new(opts.seed);
    let (nc, ne, np, nt) = proportions(opts.notes);
    let mut names = Names::default();
    // The template's notes are in the vault too.
    for (rel, _) in crate::template::FILES {
        if let Some(stem) = rel.rsplit('/').next().and_then(|n| n.strip_suffix(".md")) {
            names.try_take(stem);
        }
    }

    let mut clients = Vec::with_capacity(nc);
    for _ in 0..nc {
        let polish = rng.chance(65);
        let city = if polish {
            *rng.pick(PL_CITIES)
        } else {
            *rng.pick(EN_CITIES)
        };
        let (kind, short) = if polish {
            let kind = *rng.pick(PL_KINDS);
            let short = if rng.chance(70) {
                rng.pick(PL_EPITHETS).to_string()
            } else {
                rng.pick(PL_SURNAMES).to_string()
            };
            (kind, short)
        } else {
            (*rng.pick(EN_KINDS), rng.pick(EN_EPITHETS).to_string())
        };
        let base = if polish {
            format!("{kind} {short}")
        } else {
            format!("{short} {kind}")
        };
        let name = names.take(base.clone(), &[format!("{base} ({})", city.0)]);
        let (first, last) = person(&mut rng, polish);
        clients.push(Client {
            name,
            short,
            polish,
            city,
            contact: format!("{first} {last}"),
            created: rng.range(0, SPAN_DAYS - 200),
            projects: Vec::new(),
        });
    }

    let mut experts = Vec::with_capacity(ne);
    for _ in 0..ne {
        let polish = rng.chance(70);
        let (first, last) = person(&mut rng, polish);
        let base = format!("{first} {last}");
        let (second, _) = person(&mut rng, polish);
        let name = names.take(base, &[format!("{first} {second} {last}")]);
        let n = rng.range(3, 6) as usize;
        experts.push(Expert {
            name,
            polish,
            created: rng.range(0, SPAN_DAYS - 100),
            skills: rng.sample(SKILLS, n),
            projects: Vec::new(),
        });
    }

    let mut projects = Vec::with_capacity(np);
    let total_weight: u64 = STATUS_WEIGHTS.iter().map(|(_, w)| w).sum();
    for i in 0..np {
        let client = rng.below(nc);
        let kind = rng.below(PROJECT_KINDS.len());
        let created = (clients[client].created + rng.range(0, 150)).min(SPAN_DAYS);
        let base = format!("{} {}", clients[client].short, PROJECT_KINDS[kind].0);
        let year = 2024 + created / 365;
        let name = names.take(base.clone(), &[format!("{base} {year}")]);
        let mut roll = (rng.next_u64() >> 11) % total_weight;
        let mut status = "active";
        for (s, w) in STATUS_WEIGHTS {
            if roll < *w {
                status = s;
                break;
            }
            roll -= w;
        }
        let staffed = !matches!(status, "intake" | "matching");
        let expert = (staffed && ne > 0).then(|| rng.below(ne));
        let mut declined = Vec::new();
        if ne > 2 && rng.chance(15) {
            let d = rng.below(ne);
            if Some(d) != expert {
                declined.push(d);
            }
        }
        clients[client].projects.push(i);
        if let Some(e) = expert {
            experts[e].projects.push(i);
        }
        projects.push(Project {
            name,
            kind,
            client,
            expert,
            declined,
            status,
            created,
            tickets: Vec::new(),
        });
    }

    let mut tickets = Vec::with_capacity(nt);
    for i in 0..nt {
        let project = rng.below(np);
        let subject = *rng.pick(TICKET_SUBJECTS);
        let name = names.take(format!("HD-{:05} {subject}", i + 1), &[]);
        let from_expert = projects[project].expert.is_some() && rng.chance(40);
        let created = projects[project].created + rng.range(1, 120);
        projects[project].tickets.push(i);
        tickets.push(Ticket {
            name,
            subject,
            project,
            from_expert,
            created,
        });
    }

    World {
        clients,
        experts,
        projects,
        tickets,
    }
}

/// `YYYY-MM-DD` of a day offset from 2024-01-01.
fn date(day: i64) -> String {
    let base = jiff::civil::date(2024, 1, 1);
    base.checked_add(jiff::Span::new().days(day))
        .unwrap_or(base)
        .to_string()
}

fn ulid(rng: &mut Rng, day: i64, serial: usize) -> String {
    let ms = ((BASE_DAYS + day) * 86_400_000) as u64 + rng.range(28_800_000, 64_800_000) as u64;
    let mut random = [0u8; 10];
    // The serial number makes every id unique; the rest is random.
    random[..4].copy_from_slice(&(serial as u32).to_be_bytes());
    random[4..].copy_from_slice(&rng.next_u64().to_be_bytes()[..6]);
    ulid_from(ms, random)
}

/// A YAML scalar: plain when YAML reads it back as the same text, double-quoted otherwise.
fn scalar(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let special_start = s.starts_with([
        '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@',
        '`', ' ',
    ]);
    let not_text = s.is_empty()
        || s.parse::<f64>().is_ok()
        || matches!(
            lower.as_str(),
            "true" | "false" | "yes" | "no" | "null" | "~" | "on" | "off"
        )
        || s.bytes().next().is_some_and(|b| b.is_ascii_digit());
    if special_start
        || not_text
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.ends_with(' ')
    {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s.to_string()
    }
}

fn link(name: &str) -> String {
    format!("\"[[{name}]]\"")
}

fn list(out: &mut String, key: &str, items: &[&str]) {
    let _ = writeln!(out, "{key}:");
    for i in items {
        let _ = writeln!(out, "  - {}", scalar(i));
    }
}

fn phone(rng: &mut Rng, polish: bool) -> String {
    if polish {
        format!(
            "\"+48 {} {:03} {:03}\"",
            rng.range(500, 889),
            rng.below(1000),
            rng.below(1000)
        )
    } else {
        format!("\"+44 7700 900{:03}\"", rng.below(1000))
    }
}

/// A Polish tax id (NIP) with a valid check digit.
fn nip(rng: &mut Rng) -> String {
    const W: [u32; 9] = [6, 5, 7, 2, 3, 4, 5, 6, 7];
    loop {
        let digits: Vec<u32> = (0..9)
            .map(|i| if i == 0 { 1 + rng.below(9) } else { rng.below(10) } as u32)
            .collect();
        let check = digits.iter().zip(W).map(|(d, w)| d * w).sum::<u32>() % 11;
        if check < 10 {
            let mut s: String = digits.iter().map(|d| char::from(b'0' + *d as u8)).collect();
            s.push(char::from(b'0' + check as u8));
            return s;
        }
    }
}

/// A body being built, line by line.
#[derive(Debug, Default)]
struct Body(Vec<String>);

impl Body {
    fn line(&mut self, s: impl Into<String>) {
        self.0.push(s.into());
    }

    fn heading(&mut self, h: &str) {
        if !self.0.is_empty() {
            self.0.push(String::new());
        }
        self.0.push(format!("## {h}"));
        self.0.push(String::new());
    }

    fn paragraph(&mut self, rng: &mut Rng, extra: Option<String>) {
        let n = rng.range(1, 3) as usize;
        let mut p: Vec<String> = rng
            .sample(SENTENCES, n)
            .into_iter()
            .map(str::to_string)
            .collect();
        if let Some(e) = extra {
            p.insert(rng.below(p.len() + 1), e);
        }
        self.0.push(p.join(" "));
    }

    /// Pads with paragraphs under `heading` to `target` lines (at least 10), then cuts at 60.
    fn finish(mut self, rng: &mut Rng, heading: &str, target: usize) -> String {
        let target = target.clamp(10, 60);
        if self.0.len() < target {
            self.heading(heading);
            self.paragraph(rng, None);
            while self.0.len() < target {
                self.0.push(String::new());
                self.paragraph(rng, None);
            }
        }
        self.0.truncate(60);
        while self.0.last().is_some_and(String::is_empty) {
            self.0.pop();
        }
        let mut s = self.0.join("\n");
        s.push('\n');
        s
    }
}

fn client_note(w: &World, i: usize, rng: &mut Rng) -> String {
    let c = &w.clients[i];
    let mut f = String::with_capacity(2048);
    let _ = writeln!(f, "---\ntype: client");
    let _ = writeln!(f, "ssot_id: {}", ulid(rng, c.created, i));
    let _ = writeln!(f, "created: {}", date(c.created));
    let industry = *rng.pick(INDUSTRIES);
    let tag = fold(&industry.replace(' ', "-"));
    list(&mut f, "tags", &[tag.as_str()]);
    if c.name != c.short && !c.name.contains('(') && rng.chance(30) {
        list(&mut f, "aliases", &[c.short.as_str()]);
    }
    let _ = writeln!(f, "name: {}", scalar(&c.name));
    let slug = fold(&c.name.replace(' ', ""));
    let (mail, tld) = if c.polish {
        ("biuro", "pl")
    } else {
        ("hello", "co.uk")
    };
    let _ = writeln!(f, "email: {mail}@{slug}.{tld}");
    let _ = writeln!(f, "phone: {}", phone(rng, c.polish));
    let company = if c.polish {
        format!("{} Sp. z o.o.", c.name)
    } else {
        format!("{} Ltd", c.name)
    };
    let _ = writeln!(f, "company: {}", scalar(&company));
    let tax = if c.polish {
        nip(rng)
    } else {
        format!("GB{:09}", rng.below(1_000_000_000))
    };
    let _ = writeln!(f, "tax_id: \"{tax}\"");
    let (street, postcode) = if c.polish {
        (
            format!("{} {}", rng.pick(PL_STREETS), rng.range(1, 240)),
            format!("{}-{:03}", c.city.1, rng.below(1000)),
        )
    } else {
        (
            format!("{} {}", rng.range(1, 120), rng.pick(EN_STREETS)),
            format!("{} {}AB", c.city.1, rng.range(1, 9)),
        )
    };
    let _ = writeln!(f, "address: {}", scalar(&street));
    let _ = writeln!(f, "postcode: {}", scalar(&postcode));
    let _ = writeln!(f, "city: {}", scalar(c.city.0));
    let country = if c.polish { "Poland" } else { "United Kingdom" };
    let _ = writeln!(f, "country: {country}");
    let _ = writeln!(f, "size: {}", rng.pick(&["micro", "small", "medium"]));
    let _ = writeln!(f, "industry: {}", scalar(industry));
    let _ = writeln!(f, "language: {}", if c.polish { "pl" } else { "en" });
    let status = if c.projects.is_empty() {
        "lead"
    } else if rng.chance(85) {
        "active"
    } else {
        "inactive"
    };
    let _ = writeln!(f, "status: {status}\n---");

    let mut b = Body::default();
    b.heading("Notes");
    // A referral: another client (any one but this).
    let referral = (w.clients.len() > 1 && (c.projects.is_empty() || rng.chance(30))).then(|| {
        let r = (i + 1 + rng.below(w.clients.len() - 1)) % w.clients.len();
        format!("Referred to us by [[{}]].", w.clients[r].name)
    });
    b.paragraph(rng, referral);
    b.heading("Contacts");
    let (first, last) = person(rng, c.polish);
    b.line(format!(
        "- **{}**: owner, decides on budget; {}",
        c.contact,
        phone(rng, c.polish).trim_matches('"')
    ));
    b.line(format!(
        "- **{first} {last}**: day-to-day contact, {}.{}@{slug}.{tld}",
        fold(&first),
        fold(&last)
    ));
    if !c.projects.is_empty() {
        b.heading("Projects");
        for &p in c.projects.iter().take(20) {
            let p = &w.projects[p];
            b.line(format!("- [[{}]] ({})", p.name, p.status));
        }
    }
    let target = rng.range(10, 60) as usize;
    f.push_str(&b.finish(rng, "History", target));
    f
}

fn expert_note(w: &World, i: usize, rng: &mut Rng) -> String {
    let e = &w.experts[i];
    let mut f = String::with_capacity(2048);
    let _ = writeln!(f, "---\ntype: expert");
    let _ = writeln!(f, "ssot_id: {}", ulid(rng, e.created, 100_000_000 + i));
    let _ = writeln!(f, "created: {}", date(e.created));
    list(&mut f, "tags", &[e.skills[0]]);
    let _ = writeln!(f, "name: {}", scalar(&e.name));
    let mut parts = e.name.split(' ');
    let first = parts.next().unwrap_or("x");
    let last = parts.next_back().unwrap_or("x");
    let domain = if e.polish {
        rng.pick(PL_DOMAINS)
    } else {
        rng.pick(EN_DOMAINS)
    };
    let _ = writeln!(
        f,
        "email: {}.{}{}@{domain}",
        fold(first),
        fold(last),
        // Unique: a CRM keys contacts by e-mail.
        i + 1
    );
    let _ = writeln!(f, "phone: {}", phone(rng, e.polish));
    list(&mut f, "skills", &e.skills);
    let langs: &[&str] = match (e.polish, rng.below(3)) {
        (true, 0) => &["pl"],
        (true, 1) => &["pl", "en"],
        (true, _) => &["pl", "en", "de"],
        (false, 0) => &["en"],
        (false, 1) => &["en", "fr"],
        (false, _) => &["en", "pl"],
    };
    list(&mut f, "languages", langs);
    let _ = writeln!(f, "availability_hours: {}", rng.range(1, 8) * 5);
    let (rate, currency) = if e.polish {
        (rng.range(12, 40) * 10, "PLN")
    } else {
        (rng.range(8, 24) * 5, "GBP")
    };
    let _ = writeln!(f, "rate: {rate}\ncurrency: {currency}");
    let _ = writeln!(f, "rating: {}.{}", rng.range(3, 4), rng.below(10));
    let location = if e.polish {
        rng.pick(PL_CITIES).0
    } else {
        rng.pick(EN_CITIES).0
    };
    let _ = writeln!(f, "location: {}", scalar(location));
    let status = if e.projects.len() > 3 {
        "busy"
    } else {
        rng.pick(&["available", "available", "busy", "unavailable"])
    };
    let _ = writeln!(f, "status: {status}\n---");

    let mut b = Body::default();
    b.heading("Profile");
    b.line(format!(
        "Freelance consultant, {} years of experience: {}. Works remotely, on site in {location} when needed.",
        rng.range(2, 25),
        e.skills.join(", ")
    ));
    if w.experts.len() > 1 && (e.projects.is_empty() || rng.chance(30)) {
        let o = (i + 1 + rng.below(w.experts.len() - 1)) % w.experts.len();
        b.line(String::new());
        b.line(format!(
            "Recommended by [[{}]], who worked with them before.",
            w.experts[o].name
        ));
    }
    b.heading("Experience");
    for _ in 0..rng.range(1, 4) {
        let kind = PROJECT_KINDS[rng.below(PROJECT_KINDS.len())].0;
        b.line(format!(
            "- {}: {kind} for a company in {}",
            rng.range(2015, 2025),
            rng.pick(PL_CITIES).0
        ));
    }
    if !e.projects.is_empty() {
        b.heading("Projects");
        for &p in e.projects.iter().take(15) {
            let p = &w.projects[p];
            b.line(format!(
                "- [[{}]] for [[{}]]",
                p.name, w.clients[p.client].name
            ));
        }
    }
    let target = rng.range(10, 60) as usize;
    f.push_str(&b.finish(rng, "Notes", target));
    f
}

fn project_note(w: &World, i: usize, rng: &mut Rng) -> String {
    let p = &w.projects[i];
    let client = &w.clients[p.client];
    let (kind, kind_skills) = PROJECT_KINDS[p.kind];
    let mut f = String::with_capacity(2048);
    let _ = writeln!(f, "---\ntype: project");
    let _ = writeln!(f, "ssot_id: {}", ulid(rng, p.created, 200_000_000 + i));
    let _ = writeln!(f, "created: {}", date(p.created));
    list(&mut f, "tags", &[kind_skills[0]]);
    let _ = writeln!(f, "client: {}", link(&client.name));
    if let Some(e) = p.expert {
        let _ = writeln!(f, "expert: {}", link(&w.experts[e].name));
    }
    let _ = writeln!(f, "status: {}", p.status);
    if p.expert.is_some() {
        let es = if p.status == "proposed" {
            "proposed"
        } else {
            "accepted"
        };
        let _ = writeln!(f, "expert_status: {es}");
    }
    let summary = format!("{} for {}", capitalize(kind), client.name);
    let _ = writeln!(f, "summary: {}", scalar(&summary));
    list(&mut f, "skills_required", kind_skills);
    let _ = writeln!(f, "language: {}", if client.polish { "pl" } else { "en" });
    let hours = rng.range(2, 60) * 10;
    let (budget, currency) = if client.polish {
        (hours * rng.range(15, 25) * 10, "PLN")
    } else {
        (hours * rng.range(6, 12) * 10, "GBP")
    };
    let _ = writeln!(f, "budget: {budget}\ncurrency: {currency}");
    let _ = writeln!(f, "estimate_hours: {hours}");
    let start = p.created + rng.range(7, 45);
    let end = start + hours / 4 + rng.range(14, 90);
    let _ = writeln!(f, "deadline: {}", date(end + rng.range(0, 30)));
    let _ = writeln!(
        f,
        "priority: {}",
        rng.pick(&["low", "medium", "medium", "high", "urgent"])
    );
    if matches!(p.status, "active" | "blocked" | "done") {
        let _ = writeln!(f, "start: {}", date(start));
    }
    if p.status == "done" {
        let _ = writeln!(f, "end: {}", date(end));
    }
    if p.status == "blocked" {
        let _ = writeln!(
            f,
            "blocked_reason: {}",
            scalar(rng.pick::<&str>(&[
                "waiting for the client's content",
                "waiting for access to production",
                "invoice overdue",
                "scope under discussion",
            ]))
        );
    }
    if !p.declined.is_empty() {
        let _ = writeln!(f, "declined_experts:");
        for &d in &p.declined {
            let _ = writeln!(f, "  - {}", link(&w.experts[d].name));
        }
    }
    if rng.chance(40) && !matches!(p.status, "intake" | "matching") {
        let _ = writeln!(f, "jira_key: CONS-{}", i + 1);
    }
    let _ = writeln!(f, "---");

    let mut b = Body::default();
    b.heading("Scope");
    for s in {
        let k = rng.range(3, 6) as usize;
        rng.sample(SCOPE_ITEMS, k)
    } {
        b.line(format!("- {s}"));
    }
    b.heading("Deliverables");
    for s in {
        let k = rng.range(2, 4) as usize;
        rng.sample(DELIVERABLES, k)
    } {
        b.line(format!("- {s}"));
    }
    b.heading("Credentialing");
    let tasks = {
        let k = rng.range(3, 6) as usize;
        rng.sample(CREDENTIALING, k)
    };
    let done_upto = match p.status {
        "intake" | "matching" | "proposed" | "accepted" => 0,
        "credentialing" => rng.below(tasks.len()),
        _ => tasks.len(),
    };
    for (k, t) in tasks.iter().enumerate() {
        let mark = if k < done_upto { 'x' } else { ' ' };
        b.line(format!("- [{mark}] {t}"));
    }
    b.heading("Notes");
    let mut who = format!("Requested by [[{}]] ({}).", client.name, client.contact);
    if let Some(e) = p.expert {
        let _ = write!(who, " Delivered by [[{}]].", w.experts[e].name);
    }
    b.paragraph(rng, Some(who));
    if let Some(&prev) = client.projects.iter().find(|&&q| q != i) {
        b.line(String::new());
        b.line(format!(
            "Builds on [[{}]]; reuse what was agreed there.",
            w.projects[prev].name
        ));
    }
    if !p.tickets.is_empty() {
        b.heading("Tickets");
        for &t in p.tickets.iter().take(8) {
            b.line(format!("- [[{}]]", w.tickets[t].name));
        }
    }
    let target = rng.range(10, 60) as usize;
    f.push_str(&b.finish(rng, "Meeting notes", target));
    f
}

fn ticket_note(w: &World, i: usize, rng: &mut Rng) -> String {
    let t = &w.tickets[i];
    let p = &w.projects[t.project];
    let client = &w.clients[p.client];
    let expert = p.expert.map(|e| &w.experts[e]);
    let mut f = String::with_capacity(2048);
    let _ = writeln!(f, "---\ntype: ticket");
    let _ = writeln!(f, "ssot_id: {}", ulid(rng, t.created, 300_000_000 + i));
    let _ = writeln!(f, "created: {}", date(t.created));
    list(&mut f, "tags", &["helpdesk"]);
    let _ = writeln!(f, "project: {}", link(&p.name));
    let from = if t.from_expert { "expert" } else { "client" };
    let _ = writeln!(f, "from: {from}");
    let status = *rng.pick(&["open", "answered", "closed", "closed"]);
    let _ = writeln!(f, "status: {status}");
    let _ = writeln!(f, "subject: {}", scalar(t.subject));
    let _ = writeln!(f, "client: {}", link(&client.name));
    if let Some(e) = expert {
        let _ = writeln!(f, "expert: {}", link(&e.name));
    }
    let (h, m) = (rng.range(8, 17), rng.range(0, 59));
    let opened = format!("{}T{h:02}:{m:02}:00", date(t.created));
    let _ = writeln!(f, "opened: {opened}");
    let messages = rng.range(2, 8);
    if status == "closed" {
        let _ = writeln!(
            f,
            "closed: {}T{:02}:{:02}:00",
            date(t.created + messages),
            rng.range(8, 17),
            rng.range(0, 59)
        );
    }
    let _ = writeln!(f, "---");

    let mut b = Body::default();
    b.line(format!("About [[{}]] for [[{}]].", p.name, client.name));
    b.heading("Conversation");
    let (mut day, mut hour, mut minute) = (t.created, h, m);
    let opener = match (t.from_expert, expert) {
        (true, Some(e)) => format!("{} (expert)", e.name),
        _ => format!("{} (client)", client.contact),
    };
    for k in 0..messages {
        let author = if k % 2 == 0 {
            opener.as_str()
        } else {
            "Helpdesk (consultancy)"
        };
        b.line(format!(
            "- **{} {hour:02}:{minute:02}** {author}: {}",
            date(day),
            rng.pick(MESSAGES)
        ));
        minute += rng.range(5, 50);
        hour += minute / 60;
        minute %= 60;
        if hour > 18 {
            hour = 8 + rng.range(0, 2);
            day += 1;
        }
    }
    let target = rng.range(10, 60) as usize;
    f.push_str(&b.finish(rng, "Notes", target));
    f
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn write(root: &Path, rel: &str, bytes: &[u8], stats: &mut GenStats) -> io::Result<()> {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", parent.display())))?;
    }
    std::fs::write(&path, bytes)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    stats.files += 1;
    stats.bytes += bytes.len() as u64;
    Ok(())
}

/// Generates a vault at `root` (absent or empty): the template, then `opts.notes` notes, then,
/// with `opts.with_git`, a first commit by "ssot-vault bench <bench@localhost>" at a fixed date.
pub fn generate(root: &Path, opts: &GenOptions) -> io::Result<GenStats> {
    if root.exists() {
        let mut entries = std::fs::read_dir(root)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", root.display())))?;
        if entries.next().is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{}: the folder is not empty", root.display()),
            ));
        }
    }
    let mut stats = GenStats::default();
    for (rel, bytes) in crate::template::FILES {
        write(root, rel, bytes, &mut stats)?;
    }
    write(
        root,
        ".gitignore",
        crate::cli::init::GITIGNORE.as_bytes(),
        &mut stats,
    )?;

    let world = build_world(opts);
    // One stream of randomness per note, so that a note's text does not depend on the others'.
    let mut seeds = Rng::new(opts.seed ^ 0x005E_ED0F_0A17);
    let folders = [
        ("Clients", world.clients.len()),
        ("Experts", world.experts.len()),
        ("Projects", world.projects.len()),
        ("Helpdesk", world.tickets.len()),
    ];
    for (folder, count) in folders {
        for i in 0..count {
            let mut rng = Rng::new(seeds.next_u64());
            let (name, text) = match folder {
                "Clients" => (&world.clients[i].name, client_note(&world, i, &mut rng)),
                "Experts" => (&world.experts[i].name, expert_note(&world, i, &mut rng)),
                "Projects" => (&world.projects[i].name, project_note(&world, i, &mut rng)),
                _ => (&world.tickets[i].name, ticket_note(&world, i, &mut rng)),
            };
            write(
                root,
                &format!("{folder}/{name}.md"),
                text.as_bytes(),
                &mut stats,
            )?;
        }
    }
    stats.clients = world.clients.len();
    stats.experts = world.experts.len();
    stats.projects = world.projects.len();
    stats.tickets = world.tickets.len();

    if opts.with_git {
        let message = format!(
            "Generated vault: {} notes, seed {}\n\nSsot-Source: vault\n",
            opts.notes, opts.seed
        );
        stats.commit =
            Some(commit_all(root, &message).map_err(|e| {
                io::Error::other(format!("{}: git: {}", root.display(), e.message()))
            })?);
    }
    Ok(stats)
}

/// `git init` (branch `main`) and one commit of everything not ignored, by a fixed author at a
/// fixed date, so that the commit is as deterministic as the files.
fn commit_all(root: &Path, message: &str) -> Result<String, git2::Error> {
    let mut init = git2::RepositoryInitOptions::new();
    init.initial_head("main");
    let repo = git2::Repository::init_opts(root, &init)?;
    let mut index = repo.index()?;
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None)?;
    index.write()?;
    let tree = repo.find_tree(index.write_tree()?)?;
    let sig = git2::Signature::new(
        "ssot-vault bench",
        "bench@localhost",
        &git2::Time::new(COMMIT_TIME, 0),
    )?;
    let oid = repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &[])?;
    Ok(oid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::vault::check::check;
    use crate::vault::index::Index;
    use crate::vault::schema::Schema;

    fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(root)
            .into_iter()
            .filter_entry(|e| e.file_name() != ".git")
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let rel = e
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                (rel, std::fs::read(e.path()).unwrap())
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn generated_vault_checks_clean() {
        let dir = tempfile::tempdir().unwrap();
        let opts = GenOptions {
            notes: 300,
            seed: 7,
            with_git: false,
        };
        let stats = generate(dir.path(), &opts).unwrap();
        assert_eq!(
            stats.clients + stats.experts + stats.projects + stats.tickets,
            300
        );
        let config = Config::load(dir.path()).unwrap();
        let schema = Schema::from_config(&config).unwrap();
        let index = Index::build(dir.path(), &config);
        let report = check(&index, &schema);
        let shown: Vec<String> = report
            .problems
            .iter()
            .take(20)
            .map(|p| format!("{}:{}: {}", p.path, p.line, p.message))
            .collect();
        assert_eq!(report.errors(), 0, "{shown:#?}");
        assert!(
            !report.problems.iter().any(|p| p.message.contains("link")),
            "{shown:#?}"
        );
        assert_eq!(report.warnings(), 0, "{shown:#?}");
        assert_eq!(
            report.managed,
            300 + 4,
            "300 generated + the template's 4 managed notes"
        );
        // Bodies of 10 to 60 lines, with the sections the product reads.
        for e in &index.entries {
            let Some(ty) = e.note_type() else { continue };
            if !e.rel.starts_with("Clients/")
                && !e.rel.starts_with("Experts/")
                && !e.rel.starts_with("Projects/")
                && !e.rel.starts_with("Helpdesk/")
            {
                continue;
            }
            let note = e.note.as_ref().unwrap();
            let body_lines = note.text.split("\n---\n").nth(1).unwrap().lines().count();
            if crate::template::file(&e.rel).is_some() {
                continue;
            }
            assert!(
                (10..=60).contains(&body_lines),
                "{}: {body_lines} lines",
                e.rel
            );
            match ty {
                "project" => assert!(
                    e.body.tasks_under("Credentialing").count() >= 3,
                    "{}",
                    e.rel
                ),
                "ticket" => assert!(
                    e.body.headings.iter().any(|h| h.text == "Conversation"),
                    "{}",
                    e.rel
                ),
                _ => {}
            }
            assert!(!e.body.links.is_empty(), "{}: no links", e.rel);
        }
    }

    #[test]
    fn proportions_of_a_consultancy() {
        let dir = tempfile::tempdir().unwrap();
        let opts = GenOptions {
            notes: 300,
            seed: 3,
            with_git: false,
        };
        let s = generate(dir.path(), &opts).unwrap();
        assert_eq!(
            (s.clients, s.experts, s.projects, s.tickets),
            (45, 45, 135, 75)
        );
        let count = |d: &str| std::fs::read_dir(dir.path().join(d)).unwrap().count();
        // The template's own notes are in these folders too.
        assert_eq!(count("Clients"), 45 + 1);
        assert_eq!(count("Experts"), 45 + 2);
        assert_eq!(count("Projects"), 135 + 1);
        assert_eq!(count("Helpdesk"), 75 + 1);
        for n in [0, 1, 2, 3, 5, 10] {
            let (c, e, p, t) = proportions(n);
            assert_eq!(c + e + p + t, n, "{n}");
            assert!(n == 0 || c >= 1);
            assert!(t == 0 || p >= 1);
        }
    }

    #[test]
    fn deterministic_for_a_seed() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let c = tempfile::tempdir().unwrap();
        let opts = GenOptions {
            notes: 300,
            seed: 42,
            with_git: true,
        };
        let sa = generate(a.path(), &opts).unwrap();
        let sb = generate(b.path(), &opts).unwrap();
        assert_eq!(sa, sb, "same commit id too");
        assert!(sa.commit.is_some());
        assert_eq!(files(a.path()), files(b.path()));
        generate(c.path(), &GenOptions { seed: 43, ..opts }).unwrap();
        assert_ne!(files(a.path()), files(c.path()));
        let repo = git2::Repository::open(a.path()).unwrap();
        let head = repo.head().unwrap().peel_to_commit().unwrap();
        assert_eq!(head.author().name().ok(), Some("ssot-vault bench"));
        assert_eq!(head.author().email().ok(), Some("bench@localhost"));
        let mut so = git2::StatusOptions::new();
        so.include_untracked(true);
        assert!(
            repo.statuses(Some(&mut so)).unwrap().is_empty(),
            "all committed"
        );
    }

    #[test]
    fn unique_ids_and_names_at_scale() {
        let w = build_world(&GenOptions {
            notes: 20_000,
            seed: 1,
            with_git: false,
        });
        let mut names = HashSet::new();
        for n in w
            .clients
            .iter()
            .map(|c| &c.name)
            .chain(w.experts.iter().map(|e| &e.name))
            .chain(w.projects.iter().map(|p| &p.name))
            .chain(w.tickets.iter().map(|t| &t.name))
        {
            assert!(names.insert(name_key(n)), "{n}");
            assert!(
                !n.contains(['[', ']', '#', '|', '^', ':', '/', '\\']),
                "{n}"
            );
        }
        assert!(nip_ok(&nip(&mut Rng::new(5))));
    }

    fn nip_ok(s: &str) -> bool {
        let d: Vec<u32> = s.bytes().map(|b| u32::from(b - b'0')).collect();
        let w = [6, 5, 7, 2, 3, 4, 5, 6, 7];
        d.len() == 10 && d[..9].iter().zip(w).map(|(a, b)| a * b).sum::<u32>() % 11 == d[9]
    }

    #[test]
    fn scalars_stay_text() {
        assert_eq!(scalar("ul. Długa 5"), "ul. Długa 5");
        assert_eq!(scalar("02-383"), "\"02-383\"");
        assert_eq!(scalar("yes"), "\"yes\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
    }
}
