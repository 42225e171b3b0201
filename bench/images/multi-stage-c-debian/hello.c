#include <stdio.h>

int main(void) {
    puts("hello from a C build");
    return 0;
}
