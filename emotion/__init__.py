"""`emotion analyse`: the page's analysis for recorded videos and photo folders, in this
process (the API's own service code) or fanned out over a running API."""
