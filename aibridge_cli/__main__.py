from aibridge_cli.cli import main

main()
