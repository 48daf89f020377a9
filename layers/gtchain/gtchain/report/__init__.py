"""The reporter: what each labeling job and each chain cost, saved and learned, written next to the data.

Kept free of heavy imports: the reconciler imports `gtchain.report.keys`, and matplotlib is imported
only when a figure is drawn.
"""
