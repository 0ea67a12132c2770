//! Officer-authored text in each language a consultation is written in: English always, Welsh where the
//! council publishes bilingually. Written as a plain string when only English is given, so that a definition
//! file stays readable, and as `{"en": "…", "cy": "…"}` otherwise.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The languages authored text may be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    Welsh,
}

impl Language {
    /// The BCP 47 tag, for `lang` attributes.
    pub fn tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Welsh => "cy",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text {
    pub en: String,
    pub cy: Option<String>,
}

impl Text {
    /// The text in `language`, falling back to English where no translation is given.
    pub fn get(&self, language: Language) -> &str {
        match (language, &self.cy) {
            (Language::Welsh, Some(cy)) if !cy.trim().is_empty() => cy,
            _ => &self.en,
        }
    }

    /// The English text, which every authored text has.
    pub fn as_str(&self) -> &str {
        &self.en
    }

    pub fn is_blank(&self) -> bool {
        self.en.trim().is_empty()
    }
}

impl From<&str> for Text {
    fn from(en: &str) -> Text {
        Text { en: en.to_string(), cy: None }
    }
}

impl From<String> for Text {
    fn from(en: String) -> Text {
        Text { en, cy: None }
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.en)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ByLanguage {
    en: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cy: Option<String>,
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.cy {
            None => s.serialize_str(&self.en),
            Some(_) => ByLanguage { en: self.en.clone(), cy: self.cy.clone() }.serialize(s),
        }
    }
}

/// Written by hand, as the serialisation is: a plain string, or the text by language.
impl utoipa::PartialSchema for Text {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, SchemaType, Type};
        let by_language = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("en", ObjectBuilder::new().schema_type(Type::String))
            .property(
                "cy",
                ObjectBuilder::new().schema_type([Type::String, Type::Null].into_iter().collect::<SchemaType>()),
            )
            .required("en")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        OneOfBuilder::new()
            .description(Some(
                "Authored text: a string when only English is given, else an object with the English (\"en\") and \
                 the Welsh (\"cy\")",
            ))
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(by_language)
            .into()
    }
}

impl utoipa::ToSchema for Text {}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Plain(String),
            ByLanguage(ByLanguage),
        }
        match Either::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected a string, or an object with \"en\" and optionally \"cy\" strings")
        })? {
            Either::Plain(en) => Ok(Text { en, cy: None }),
            Either::ByLanguage(b) => Ok(Text { en: b.en, cy: b.cy.filter(|cy| !cy.trim().is_empty()) }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_alone_is_a_plain_string_and_welsh_makes_an_object() {
        let plain: Text = serde_json::from_str("\"Agree\"").unwrap();
        assert_eq!(serde_json::to_string(&plain).unwrap(), "\"Agree\"");
        let both: Text = serde_json::from_str(r#"{"en": "Agree", "cy": "Cytuno"}"#).unwrap();
        assert_eq!(both.get(Language::Welsh), "Cytuno");
        assert_eq!(both.get(Language::English), "Agree");
        assert_eq!(serde_json::to_value(&both).unwrap(), serde_json::json!({"en": "Agree", "cy": "Cytuno"}));
        assert!(serde_json::from_str::<Text>(r#"{"cy": "Cytuno"}"#).is_err());
        assert!(serde_json::from_str::<Text>("3").is_err());
    }
}
