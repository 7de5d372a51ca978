"""The only bridge between Qt and core: QObjects on QThreads, signals in and out."""
