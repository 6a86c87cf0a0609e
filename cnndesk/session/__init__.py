"""The application layer between the engine and the UI, Qt-free: the state the app shares and the runs it makes.

``state.Session`` holds the current model, input and selection and tells its observers when they change;
``runs.RunController`` starts, resumes, stops and queues training runs with one save rule, for the command line and
the window alike; ``markers`` keeps the notes that let the next launch restore a run cnndesk did not end.
"""
