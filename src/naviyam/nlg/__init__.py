"""Answer text: phrasings, reasons, the child-friendly normaliser, safety for minors."""
