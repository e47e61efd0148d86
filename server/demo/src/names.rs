//! Norwegian given and family names, and the administrative gender they go with.

/// Administrative gender, `Patient.gender` and friends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gender {
    /// `female`.
    Female,
    /// `male`.
    Male,
}

impl Gender {
    /// The FHIR `AdministrativeGender` code.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
        }
    }

    /// The parity of the third individual digit in numbers issued before 2032: odd for men.
    pub(crate) fn individual_parity(self) -> u32 {
        match self {
            Gender::Female => 0,
            Gender::Male => 1,
        }
    }
}

/// Given names common among Norwegians born before 2000.
pub(crate) fn adult_given_names(gender: Gender) -> &'static [&'static str] {
    match gender {
        Gender::Female => &[
            "Anne",
            "Inger",
            "Kari",
            "Marit",
            "Ingrid",
            "Liv",
            "Eva",
            "Berit",
            "Astrid",
            "Bjørg",
            "Hilde",
            "Randi",
            "Solveig",
            "Silje",
            "Ida",
            "Hanne",
            "Tone",
            "Camilla",
            "Elisabeth",
        ],
        Gender::Male => &[
            "Jan", "Per", "Bjørn", "Ole", "Lars", "Kjell", "Knut", "Arne", "Svein", "Thomas",
            "Hans", "Geir", "Odd", "Erik", "Anders", "Terje", "Morten", "Øyvind", "Stian",
        ],
    }
}

/// Given names common among Norwegian children born after 2010.
pub(crate) fn child_given_names(gender: Gender) -> &'static [&'static str] {
    match gender {
        Gender::Female => &[
            "Nora", "Emma", "Olivia", "Ella", "Sofie", "Leah", "Frida", "Maja", "Ingrid", "Sara",
        ],
        Gender::Male => &[
            "Noah", "Oskar", "Lucas", "Isak", "Emil", "Jakob", "Filip", "Aksel", "Henrik", "Olav",
        ],
    }
}

/// Family names common in Norway.
pub(crate) const FAMILY_NAMES: &[&str] = &[
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Johnsen",
    "Pettersen",
    "Eriksen",
    "Berg",
    "Haugen",
    "Hagen",
    "Dahl",
    "Halvorsen",
    "Lund",
    "Strand",
    "Solberg",
    "Eide",
    "Bakken",
    "Lie",
    "Nygård",
    "Haugland",
    "Solheim",
    "Berge",
    "Nguyen",
    "Ali",
    "Myhre",
    "Sæther",
    "Aas",
    "Brekke",
    "Vik",
    "Kvamme",
];
