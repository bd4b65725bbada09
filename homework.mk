# Homework (nbgrader) targets, included by the Makefile.  See README "Homework (nbgrader)".
# All grading state lives in grading/ (git-ignored); solutions/ is the instructors' source,
# assignments/ the generated student versions (commit them after `make release`).

.PHONY: release autograde feedback export grades fake-class

# Regenerate assignments/ from solutions/ (nbgrader generate_assignment; reproducible byte for byte)
# and register the homework in the gradebook.
release: $(STAMP)
	$(BIN)/python -m course.release

# Grade everything in grading/submitted/<student>/<hw>/: nbgrader autograde in a sandboxed kernel,
# a clean re-check of every submission, feedback HTML, grading/grades.csv.  Exit 1 if any submission
# could not be graded.  Options: make autograde HW="hw1 hw2" TIMEOUT=60 JOBS=2
autograde: $(STAMP)
	$(BIN)/python -m course.autograde $(HW) $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(JOBS),--jobs $(JOBS))

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
