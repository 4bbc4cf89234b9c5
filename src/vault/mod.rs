//! The vault: notes on disk, their frontmatter and body, the schema of managed notes, links, and
//! the index of the whole vault. Nothing here knows about services or sync.

pub mod body;
pub mod editor;
pub mod frontmatter;
pub mod note;
pub mod value;
pub mod id;
pub mod schema;
pub mod index;
pub mod check;
