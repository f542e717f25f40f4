"""Exports for steering committees: chart images, Excel tables, blank templates, PPTX/PDF decks.

Exports read numbers only through metrics/ (the tidy attainment frame) and draw charts only with
the charts/ builders the pages use, so a deck never disagrees with the dashboard.
"""
