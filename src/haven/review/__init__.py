"""Review services for the web app: the grid query, decisions with propagation and undo, the dashboard,
the item view and reading a content back from the evidence for "reveal".

Services take a SQLAlchemy session and plain values; they never know about HTTP.
"""
