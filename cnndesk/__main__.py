import multiprocessing

from cnndesk.cli import run

if __name__ == "__main__":
    multiprocessing.freeze_support()
    run()
