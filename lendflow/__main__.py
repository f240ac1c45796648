from lendflow.cli import main

main()
