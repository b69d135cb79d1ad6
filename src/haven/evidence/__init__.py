"""Evidence sources: safe, read-only walking of folders and archives, file typing, encryption."""
