"""Text in pictures: Tesseract OCR as a re-runnable stage, stored and full-text searchable (issue 6)."""
