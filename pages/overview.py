"""National overview page (Streamlit page file); the layout is in pages/_overview_layout.py."""

from pages._overview_layout import render

render()
