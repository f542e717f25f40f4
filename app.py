"""Yaad (יעד): the entry point. It sets up the frame, signs the user in and routes to the pages
their role allows (store.access.PERMISSIONS)."""

from pages._frame import main

main()
