"""synthgov: governance and retention for AI-generated content in Salesforce."""
