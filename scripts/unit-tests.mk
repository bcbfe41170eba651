# scripts/unit-tests.mk - prints the unit tests of a configured build tree:
# the TESTS that are check programs (the shell tests and helper programs
# such as tests/e2e/te-storeput left out).  Read beside the tree's own
# Makefile, by scripts/qemu-test and debian/rules:
#     make -s -f Makefile -f TOP/scripts/unit-tests.mk te-unit-tests
te-unit-tests:
	@for t in $(TESTS); do \
		case " $(check_PROGRAMS) " in *" $$t "*) echo $$t ;; esac; \
	done
