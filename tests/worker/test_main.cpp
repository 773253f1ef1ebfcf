// The worker test program's module definition; the test cases live in the other files.
#define BOOST_TEST_MODULE worker
#include <boost/test/unit_test.hpp>
