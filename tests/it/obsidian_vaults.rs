//! Real vaults as Obsidian sees them: hidden folders, the templates folder, links in tables and comments, unmanaged notes, link resolution.
