//! A small outdoor-gear catalogue, and the requirements customers ask for.

/// What kind of product a customer is shopping for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    HikingBoots,
    RainJacket,
    Tent,
    SleepingBag,
    Backpack,
    TrailRunners,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::HikingBoots,
        Category::RainJacket,
        Category::Tent,
        Category::SleepingBag,
        Category::Backpack,
        Category::TrailRunners,
    ];

    /// As a customer writes it: "hiking boots", "a tent".
    pub fn plural(self) -> &'static str {
        match self {
            Category::HikingBoots => "hiking boots",
            Category::RainJacket => "rain jackets",
            Category::Tent => "tents",
            Category::SleepingBag => "sleeping bags",
            Category::Backpack => "backpacks",
            Category::TrailRunners => "trail running shoes",
        }
    }

    /// Weight (grams) up to which the category counts as ultralight.
    fn ultralight_grams(self) -> u32 {
        match self {
            Category::HikingBoots | Category::TrailRunners => 800,
            Category::RainJacket => 250,
            Category::Tent => 1200,
            Category::SleepingBag => 700,
            Category::Backpack => 900,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    Mens,
    Womens,
    Unisex,
}

#[derive(Debug, Clone, Copy)]
pub struct Product {
    pub sku: &'static str,
    pub name: &'static str,
    pub category: Category,
    pub price: u32,
    pub waterproof: bool,
    pub fit: Fit,
    pub grams: u32,
}

const fn p(
    sku: &'static str,
    name: &'static str,
    category: Category,
    price: u32,
    waterproof: bool,
    fit: Fit,
    grams: u32,
) -> Product {
    Product {
        sku,
        name,
        category,
        price,
        waterproof,
        fit,
        grams,
    }
}

use Category::*;
use Fit::*;

pub const PRODUCTS: &[Product] = &[
    p(
        "TH-1101",
        "Ridgeline Mid GTX",
        HikingBoots,
        189,
        true,
        Mens,
        1180,
    ),
    p(
        "TH-1102",
        "Ridgeline Mid GTX Women's",
        HikingBoots,
        189,
        true,
        Womens,
        980,
    ),
    p(
        "TH-1103",
        "Canyon Low Hiker",
        HikingBoots,
        89,
        false,
        Mens,
        820,
    ),
    p(
        "TH-1104",
        "Canyon Low Hiker Women's",
        HikingBoots,
        89,
        false,
        Womens,
        720,
    ),
    p(
        "TH-1105",
        "Summit Pro Leather",
        HikingBoots,
        249,
        true,
        Mens,
        1420,
    ),
    p(
        "TH-1106",
        "Trailbreeze Vent",
        HikingBoots,
        119,
        false,
        Unisex,
        760,
    ),
    p(
        "TH-1107",
        "Stormtrack WP Women's",
        HikingBoots,
        95,
        true,
        Womens,
        890,
    ),
    p(
        "TH-2201",
        "Drizzle Shell",
        RainJacket,
        79,
        true,
        Unisex,
        310,
    ),
    p(
        "TH-2202",
        "Tempest 3L Jacket",
        RainJacket,
        229,
        true,
        Mens,
        420,
    ),
    p(
        "TH-2203",
        "Tempest 3L Jacket Women's",
        RainJacket,
        229,
        true,
        Womens,
        380,
    ),
    p(
        "TH-2204",
        "Featherlite Wind Shell",
        RainJacket,
        99,
        false,
        Unisex,
        110,
    ),
    p(
        "TH-2205",
        "Cloudburst Ultra",
        RainJacket,
        179,
        true,
        Unisex,
        190,
    ),
    p("TH-3301", "Basecamp 4 Dome", Tent, 299, true, Unisex, 4200),
    p("TH-3302", "Ridgeline 2", Tent, 249, true, Unisex, 2100),
    p("TH-3303", "Wisp 1 Ultralight", Tent, 389, true, Unisex, 890),
    p(
        "TH-3304",
        "Summer Breeze 2 Mesh",
        Tent,
        89,
        false,
        Unisex,
        1600,
    ),
    p("TH-3305", "Cirrus 2 UL", Tent, 449, true, Unisex, 1150),
    p(
        "TH-4401",
        "Ember 20 Synthetic",
        SleepingBag,
        99,
        false,
        Unisex,
        1500,
    ),
    p(
        "TH-4402",
        "Alpine Down 15",
        SleepingBag,
        329,
        false,
        Unisex,
        890,
    ),
    p(
        "TH-4403",
        "Alpine Down 15 Women's",
        SleepingBag,
        329,
        false,
        Womens,
        840,
    ),
    p(
        "TH-4404",
        "Nimbus 40 Quilt",
        SleepingBag,
        219,
        false,
        Unisex,
        520,
    ),
    p(
        "TH-4405",
        "Hydrotek Down 0",
        SleepingBag,
        459,
        true,
        Unisex,
        1100,
    ),
    p("TH-5501", "Trekker 65", Backpack, 259, false, Mens, 2300),
    p(
        "TH-5502",
        "Trekker 60 Women's",
        Backpack,
        259,
        false,
        Womens,
        2150,
    ),
    p("TH-5503", "Daypack 22", Backpack, 69, false, Unisex, 650),
    p(
        "TH-5504",
        "Drybag Pack 30",
        Backpack,
        139,
        true,
        Unisex,
        820,
    ),
    p(
        "TH-5505",
        "Skyline 45 UL",
        Backpack,
        229,
        false,
        Unisex,
        780,
    ),
    p(
        "TH-6601",
        "Fastline Trail",
        TrailRunners,
        129,
        false,
        Mens,
        580,
    ),
    p(
        "TH-6602",
        "Fastline Trail Women's",
        TrailRunners,
        129,
        false,
        Womens,
        510,
    ),
    p(
        "TH-6603",
        "Mudguard GTX",
        TrailRunners,
        159,
        true,
        Mens,
        690,
    ),
    p(
        "TH-6604",
        "Mudguard GTX Women's",
        TrailRunners,
        159,
        true,
        Womens,
        640,
    ),
    p(
        "TH-6605",
        "Tempo Trail 2",
        TrailRunners,
        79,
        false,
        Unisex,
        540,
    ),
];

/// A requirement a customer states when asking for a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    Waterproof,
    Womens,
    Under(u32),
    Ultralight,
}

impl Requirement {
    pub fn is_met_by(self, product: &Product) -> bool {
        match self {
            Requirement::Waterproof => product.waterproof,
            Requirement::Womens => product.fit == Fit::Womens,
            Requirement::Under(limit) => product.price < limit,
            Requirement::Ultralight => product.grams <= product.category.ultralight_grams(),
        }
    }

    /// The item as the customer asks for it: "waterproof hiking boots",
    /// "tents under $100".
    pub fn item(self, category: Category) -> String {
        let plural = category.plural();
        match self {
            Requirement::Waterproof => format!("waterproof {plural}"),
            Requirement::Womens => format!("women's {plural}"),
            Requirement::Under(limit) => format!("{plural} under ${limit}"),
            Requirement::Ultralight => format!("ultralight {plural}"),
        }
    }
}

/// Products of `category`, split into those meeting `requirement` and not.
pub fn split(
    category: Category,
    requirement: Requirement,
) -> (Vec<&'static Product>, Vec<&'static Product>) {
    PRODUCTS
        .iter()
        .filter(|p| p.category == category)
        .partition(|p| requirement.is_met_by(p))
}

/// Every (category, requirement) pair for which the catalogue has both a
/// product that meets the requirement and one that does not: the pairs a
/// recommendation can get right or wrong.
pub fn askable() -> Vec<(Category, Requirement)> {
    let mut out = Vec::new();
    for category in Category::ALL {
        for requirement in [
            Requirement::Waterproof,
            Requirement::Womens,
            Requirement::Under(100),
            Requirement::Under(150),
            Requirement::Ultralight,
        ] {
            let (good, bad) = split(category, requirement);
            if !good.is_empty() && !bad.is_empty() {
                out.push((category, requirement));
            }
        }
    }
    out
}

/// A product as `search_products` returns it.
pub fn to_json(product: &Product) -> serde_json::Value {
    serde_json::json!({
        "sku": product.sku,
        "name": product.name,
        "price": product.price,
        "waterproof": product.waterproof,
        "fit": match product.fit { Fit::Mens => "men", Fit::Womens => "women", Fit::Unisex => "unisex" },
        "weight_g": product.grams,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_can_be_asked_about_with_some_requirement() {
        let pairs = askable();
        for category in Category::ALL {
            assert!(pairs.iter().any(|(c, _)| *c == category), "{category:?}");
        }
        assert!(pairs.len() >= 15, "{}", pairs.len());
    }

    #[test]
    fn skus_are_unique() {
        let mut skus: Vec<&str> = PRODUCTS.iter().map(|p| p.sku).collect();
        skus.sort_unstable();
        skus.dedup();
        assert_eq!(skus.len(), PRODUCTS.len());
    }
}
