#include <iostream>
int main() { std::cout << "dnabert\n"; }
