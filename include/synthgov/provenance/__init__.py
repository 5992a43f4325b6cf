"""Content provenance: reading C2PA Content Credentials from the files CRM records carry."""
