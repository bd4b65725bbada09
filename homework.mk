# Homework (nbgrader) targets, included by the Makefile.  See README "Homework (nbgrader)".
# All grading state lives in grading/ (git-ignored); solutions/ is the instructors' source,
# assignments/ the generated student versions (commit them after `make release`).

.PHONY: release course lab autograde feedback export grades fake-class grading-setup grading-check

# Regenerate assignments/ from solutions/ (nbgrader generate_assignment; reproducible byte for byte)
# and register the homework in the gradebook.
release: $(STAMP)
	$(BIN)/python -m course.release

# The course as JupyterLab's nbgrader panels need it, on a fresh clone: grading/ with the gradebook (hw1-hw4, for the
# Formgrader) and the local exchange grading/exchange with the committed student versions released (for the
# Assignment List: Fetch into my-homework/<hw>/, Validate, Submit).  Idempotent: unchanged homework is skipped.
course: $(STAMP)
	$(BIN)/python -m course.release --exchange

# JupyterLab at the repository root, the course set up first.  Students: Nbgrader -> Assignment List; instructors:
# Nbgrader -> Formgrader and the Create Assignment panel of the right sidebar.  Root needs --allow-root (added).
# Progress bars on and no MFCORE_DATA of the tests' (unless you set it); extra options: make lab LAB_ARGS="--port=9999"
lab: $(STAMP) setup $(KERNELS) course
	env -u MFCORE_QUIET $(if $(filter file,$(origin MFCORE_DATA)),-u MFCORE_DATA) PATH="$(abspath $(BIN)):$$PATH" \
	  $(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# Grade everything in grading/submitted/<student>/<hw>/: each submission in its own sandbox, its checks judged
# outside it, feedback HTML, grading/grades.csv.  Exit 1 if any submission could not be graded, 2 if grading was
# refused (no sandbox).  Options: make autograde HW="hw1 hw2" TIMEOUT=60 JOBS=2 MEMORY=2G NO_ISOLATION=1
autograde: $(STAMP)
	$(BIN)/python -m course.autograde $(HW) $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(JOBS),--jobs $(JOBS)) \
	  $(if $(MEMORY),--memory $(MEMORY)) $(if $(NO_ISOLATION),--no-isolation)

# The sandbox student code runs in: install bubblewrap where it is missing (Debian/Ubuntu, root or sudo) ...
grading-setup:
	@sh course/install-sandbox.sh

# ... and show what a student's code would see and be allowed inside it.
grading-check: $(STAMP) grading-setup
	$(BIN)/python -m course.sandbox

# Feedback HTML again (e.g. after manual grading in the formgrader), without hidden tests.
feedback: $(STAMP)
	@for hw in $(or $(HW),$$(ls solutions)); do \
	  [ -d solutions/$$hw ] && PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m nbgrader generate_feedback $$hw --force || true; done

# nbgrader's own grade export (includes manual grades) to grading/nbgrader-grades.csv.  It writes a
# submission nbgrader could not grade as 0: read grading/grades.csv (status column) alongside.
export: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m nbgrader export --to grading/nbgrader-grades.csv

# A made-up class of N mixed submissions into grading/submitted/ (try the pipeline before a real class).
fake-class: $(STAMP)
	$(BIN)/python -m course.submissions --students $(or $(N),10)
