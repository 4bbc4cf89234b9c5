//! The vault template as Obsidian reads it: placeholders, property types, dashboards, app settings.
