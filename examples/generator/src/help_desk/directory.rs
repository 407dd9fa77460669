//! The employee directory behind `lookup_employee`, and the many ways people
//! write their own employee id.
//!
//! An employee is a pure function of their number, so the same user has the
//! same id, name, office and manager in every interaction without any table
//! held in memory. Ids are `E` and 5 digits: at most 90,000 employees.

use rand::Rng;
use rand::rngs::StdRng;

use super::lang::Lang;

/// How many distinct employee ids exist (`E10000` to `E99999`).
pub const MAX_EMPLOYEES: u64 = 90_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Office {
    Leeds,
    Rotterdam,
    Toronto,
}

impl Office {
    pub fn name(self) -> &'static str {
        match self {
            Office::Leeds => "Leeds",
            Office::Rotterdam => "Rotterdam",
            Office::Toronto => "Toronto",
        }
    }

    fn phone_prefix(self) -> &'static str {
        match self {
            Office::Leeds => "+44",
            Office::Rotterdam => "+31",
            Office::Toronto => "+1",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Employee {
    /// The canonical id, `E10442`: what every successful call passes.
    pub id: String,
    pub first: &'static str,
    pub last: &'static str,
    pub office: Office,
    pub department: &'static str,
    pub manager: &'static str,
    /// Last two digits of the registered mobile number.
    pub phone_tail: u32,
    /// The language they write in when not in English.
    pub lang: Lang,
}

const FIRST: &[&str] = &[
    "Priya",
    "Tomasz",
    "Aoife",
    "Kwame",
    "Sanne",
    "Mei",
    "Oluwaseun",
    "Hamish",
    "Ines",
    "Rahul",
    "Freya",
    "Joost",
    "Chloe",
    "Mateus",
    "Yusuf",
    "Niamh",
    "Daan",
    "Grace",
    "Arjun",
    "Lotte",
    "Callum",
    "Amara",
    "Pieter",
    "Sofia",
    "Ewan",
    "Hana",
    "Bram",
    "Zainab",
    "Owen",
    "Marisol",
    "Kenji",
    "Ruth",
    "Femke",
    "Dev",
    "Imogen",
    "Luca",
    "Tariq",
    "Elin",
    "Noor",
    "Gareth",
    "Anouk",
    "Ji-woo",
    "Declan",
    "Fatima",
    "Wim",
    "Rosa",
    "Ibrahim",
    "Maeve",
];

const LAST: &[&str] = &[
    "Nair",
    "Kowalczyk",
    "Byrne",
    "Mensah",
    "de Vries",
    "Chen",
    "Adeyemi",
    "MacLeod",
    "Ferreira",
    "Iyer",
    "Thompson",
    "Bakker",
    "Dubois",
    "Oliveira",
    "Demir",
    "O'Brien",
    "Jansen",
    "Okafor",
    "Patel",
    "Visser",
    "Fraser",
    "Nwosu",
    "van Dijk",
    "Rossi",
    "Campbell",
    "Sato",
    "Smit",
    "Hussain",
    "Griffiths",
    "Alvarez",
    "Tanaka",
    "Levy",
    "Mulder",
    "Sharma",
    "Hughes",
    "Bianchi",
    "Rahman",
    "Lindqvist",
    "Haddad",
    "Price",
    "Peeters",
    "Kim",
    "Murphy",
    "Benali",
    "de Jong",
    "Moreno",
    "Yilmaz",
    "Doyle",
    "Ahmed",
];

const DEPARTMENTS: &[&str] = &[
    "Structural Engineering",
    "Geotechnics",
    "Bridges",
    "Water & Coastal",
    "Building Services",
    "Project Controls",
    "Finance",
    "People & Culture",
    "Digital Delivery",
    "Legal",
    "Marketing",
    "Facilities",
];

const MANAGERS: &[&str] = &[
    "Fiona Grant",
    "Ruud Hendriks",
    "Alicia Moreau",
    "Graham Pike",
    "Nadia Qureshi",
    "Stefan Vos",
    "Helen Achebe",
    "Marcus Boyd",
    "Yara Khalil",
    "Colm Walsh",
];

/// Employee number `k` (`0 ..` [`MAX_EMPLOYEES`]). Numbers map to distinct
/// ids (7,919 is prime to 90,000), scattered so that neighbours in the user
/// list do not have neighbouring ids.
pub fn employee(k: u64) -> Employee {
    let number = 10_000 + (k * 7_919 + 2_467) % MAX_EMPLOYEES;
    let office = match (k * 13) % 20 {
        0..=8 => Office::Leeds,
        9..=13 => Office::Rotterdam,
        _ => Office::Toronto,
    };
    let at = |bank: &[&'static str], mix: u64| bank[(mix % bank.len() as u64) as usize];
    Employee {
        id: format!("E{number}"),
        first: at(FIRST, k),
        last: at(LAST, k / FIRST.len() as u64 + k * 7),
        office,
        department: at(DEPARTMENTS, k * 5 + 3),
        manager: at(MANAGERS, k * 3 + k / 10),
        phone_tail: ((k * 37 + 11) % 100) as u32,
        lang: language(office, k),
    }
}

/// An employee's own language: most of Rotterdam Dutch and some German, a
/// quarter of Toronto French, a few Spaniards in Leeds.
fn language(office: Office, k: u64) -> Lang {
    // Mixed apart from the office's own `k * 13`, so each office gets each share.
    let x = (k * 7_919 / 13) % 20;
    match (office, x) {
        (Office::Rotterdam, 0..=2) => Lang::De,
        (Office::Rotterdam, 3) => Lang::En,
        (Office::Rotterdam, _) => Lang::Nl,
        (Office::Toronto, 0..=4) => Lang::Fr,
        (Office::Leeds, 0) => Lang::Es,
        _ => Lang::En,
    }
}

impl Employee {
    /// The locale their messages come from: their language where they live.
    pub fn locale(&self) -> &'static str {
        match (self.lang, self.office) {
            (Lang::Nl, _) => "nl-NL",
            (Lang::De, _) => "de-DE",
            (Lang::Fr, _) => "fr-CA",
            (Lang::Es, _) => "es-ES",
            (Lang::En, Office::Leeds) => "en-GB",
            (Lang::En, Office::Rotterdam) => "en-NL",
            (Lang::En, Office::Toronto) => "en-CA",
        }
    }

    pub fn name(&self) -> String {
        format!("{} {}", self.first, self.last)
    }

    /// `sanne.devries@haldenrowe.com`: lower case, spaces and apostrophes dropped.
    pub fn email(&self) -> String {
        let part = |s: &str| {
            s.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<String>()
                .to_lowercase()
        };
        format!("{}.{}@haldenrowe.com", part(self.first), part(self.last))
    }

    /// The masked mobile number the reset text goes to.
    pub fn phone(&self) -> String {
        format!(
            "{} ••• •••{:02}",
            self.office.phone_prefix(),
            self.phone_tail
        )
    }

    fn digits(&self) -> &str {
        self.id.trim_start_matches('E')
    }

    /// The id as people type it when not copying it from their badge:
    /// `e10442`, `e-10442`, `E 10442`, `E-10442`, `10442`. All of them
    /// name the same employee; only `E10442` is what the tool accepts.
    pub fn sloppy_id(&self, rng: &mut StdRng) -> String {
        let d = self.digits();
        match rng.random_range(0..6) {
            0 => format!("e{d}"),
            1 => format!("e-{d}"),
            2 => format!("E {d}"),
            3 => format!("E-{d}"),
            4 => format!("e {d}"),
            _ => d.to_string(),
        }
    }

    /// The id in one of the forms a person might use for it in a message,
    /// email address included: what the agent wrongly passes on as typed.
    pub fn id_as_typed(&self, rng: &mut StdRng) -> String {
        if rng.random_bool(0.25) {
            self.email()
        } else {
            self.sloppy_id(rng)
        }
    }

    /// `lookup_employee`'s answer.
    pub fn to_json(&self, locked: bool) -> serde_json::Value {
        serde_json::json!({
            "employee_id": self.id,
            "name": self.name(),
            "email": self.email(),
            "office": self.office.name(),
            "department": self.department,
            "manager": self.manager,
            "account_status": if locked { "locked" } else { "active" },
            "mobile": self.phone(),
        })
    }
}

/// What `lookup_employee` and the other tools say about an id that is not
/// `E` and 5 digits.
pub fn invalid_id_error(raw: &str) -> String {
    format!("invalid employee_id \"{raw}\": expected E followed by 5 digits")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_employee_number_has_its_own_well_formed_id() {
        let mut ids: Vec<String> = (0..MAX_EMPLOYEES).map(|k| employee(k).id).collect();
        assert!(ids.iter().all(|id| {
            id.len() == 6 && id.starts_with('E') && id[1..].bytes().all(|b| b.is_ascii_digit())
        }));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len() as u64, MAX_EMPLOYEES);
    }

    #[test]
    fn ids_as_typed_are_never_the_canonical_form_but_name_the_same_digits() {
        let mut rng = StdRng::seed_from_u64(5);
        for k in 0..300 {
            let e = employee(k);
            let typed = e.id_as_typed(&mut rng);
            assert_ne!(typed, e.id);
            assert!(typed.contains(e.digits()) || typed == e.email(), "{typed}");
            assert!(e.email().ends_with("@haldenrowe.com") && !e.email().contains(' '));
        }
    }
}
