"""The window's views, one file each; ``main_window.MainWindow`` builds itself from them (see ``base.Panel``)."""
