// The sender's Boost.Test program: test cases live in the other files of this folder.
#define BOOST_TEST_MODULE sender
#include <boost/test/unit_test.hpp>
