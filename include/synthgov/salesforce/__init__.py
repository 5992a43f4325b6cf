"""Talking to Salesforce: authentication, retries and the API budget."""
